"""The contract every layer shares: records and hits, errors, filters and their compiler, input
validation, the store protocols with their capabilities, and the narrow driver interface a backend
implements. Nothing here does I/O."""
