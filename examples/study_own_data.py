"""Fine-tuning or context? Run the study on your own BEIR-format data, with your own profile.

Any folder with corpus.jsonl, queries.jsonl and qrels/test.tsv works as the test side; the
train side needs labelled claims over the same corpus (qrels/train.tsv). Here: SciFact, cut
down to a few dozen abstracts so the example runs in about a minute. The CLI equivalent of a
real run is `vecctx study DIR --train TRAIN_DIR --profile quick --out study-results`.

Run: python examples/study_own_data.py
"""

import tempfile
from dataclasses import replace
from pathlib import Path

from vecctx.loaders import data_root
from vecctx.study import get_profile, run_study

# Start from the tiny profile and make it yours: fewer arms, no answering model.
profile = replace(
    get_profile("tiny"),
    name="example",
    fractions=(1.0,),  # one point of the learning curve: all labelled claims
    synthetic_sizes=(16,),
    generations=1,
    rerankers=("mmr",),
    generative=None,
)
with tempfile.TemporaryDirectory() as out:
    result = run_study(
        data_root() / "scifact", data_root() / "scifact-train", out, profile=profile, progress=lambda m: None
    )
    for arm in result["arms"]:
        print(
            f"{arm['name']:<40} nDCG@10 {arm['ndcg@10']:.3f}  "
            f"train {arm['train_cpu_seconds']:5.1f} CPU s  index {arm['index_seconds']:5.1f} s"
        )
    print("report:", (Path(out) / "report.md").is_file())
