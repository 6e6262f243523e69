#!/usr/bin/env python3
"""make_data_fixtures.py: small dataset files for the data/ readers, and their bad-input corpus.

Writes
  tests/fixtures/data/   good files in the three layouts the readers take (LLaVA conversation JSON, GQA
                         question files as a dict and as a list, a MileBench folder with two tasks), with
                         small PNG images (Pillow) so the same files drive `fc-eval quality` on the tiny models;
  tests/corpus/data/     files that are wrong in exactly one way (README.md there says how), for
                         tests/cli/data_corpus.sh.
Deterministic: fixed content, images drawn from a seeded numpy generator. Records its versions in VERSIONS.
"""
import json
import os
import shutil
import sys

import numpy as np
import PIL
import safetensors
from PIL import Image

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
FIX = os.path.join(ROOT, "tests", "fixtures", "data")
COR = os.path.join(ROOT, "tests", "corpus", "data")


def dump(path, obj):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=1, ensure_ascii=False)
        f.write("\n")


def image(path, seed, size=(40, 30)):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 256, size=(size[1], size[0], 3), dtype=np.uint8)
    Image.fromarray(a, "RGB").save(path)


def llava_records():
    return [
        {"id": "single-1", "image": "gqa/images/1.png",
         "conversations": [{"from": "human", "value": "<image>\nWhat color is the sky?"},
                           {"from": "gpt", "value": "Blue."}]},
        {"id": "multi-turn-2", "image": "gqa/images/2.png",
         "conversations": [{"from": "human", "value": "How many cats are there?\n<image>"},
                           {"from": "gpt", "value": "Two"},
                           {"from": "human", "value": "Are they sleeping?"},
                           {"from": "gpt", "value": "Yes, both are."}]},
        # the FastCache demo file's spelling of the answer role
        {"id": "assistant-3", "image": "gqa/images/3.png",
         "conversations": [{"from": "human", "value": "<image> Is there a table?"},
                           {"from": "assistant", "value": " no "}]},
        {"id": "text-only-4",
         "conversations": [{"from": "human", "value": "Say hi."}, {"from": "gpt", "value": "hi"}]},
        {"id": "multi-image-5", "image": ["gqa/images/1.png", "coco/images/4.png"],
         "conversations": [{"from": "human", "value": "<image>\n<image>\nWhich image is brighter?"},
                           {"from": "gpt", "value": "The first"}]},
    ]


def make_fixtures():
    if os.path.isdir(FIX):
        shutil.rmtree(FIX)
    for i in range(1, 5):
        image(os.path.join(FIX, "images", "gqa" if i < 4 else "coco", "images", f"{i}.png"), i)
    dump(os.path.join(FIX, "llava.json"), llava_records())
    # GQA: the official dict layout (question id -> fields; extra fields ignored) and a list layout
    for i in range(1, 4):
        image(os.path.join(FIX, "gqa_images", f"n{i}.png"), 10 + i)
    dump(os.path.join(FIX, "gqa_dict.json"), {
        "201307251": {"imageId": "n1.png", "question": "Is the sky blue?", "answer": "yes",
                      "fullAnswer": "Yes, the sky is blue.", "types": {"structural": "verify"}},
        "201640614": {"imageId": "n2.png", "question": "What is on the table?", "answer": "apple"},
        "201640615": {"imageId": "n3.png", "question": "Which side is the dog on?", "answer": "left"},
    })
    dump(os.path.join(FIX, "gqa_list.json"), [
        {"question_id": 7, "image": "n1.png", "question": "Is it day?", "answer": "yes"},
        {"questionId": "q8", "imageId": "n2.png", "question": "What fruit is it?", "answer": "apple"},
    ])
    # MileBench: a folder above two task folders, each X/X.json + X/images/
    mb = os.path.join(FIX, "milebench")
    for i in range(1, 4):
        image(os.path.join(mb, "ActionOrder", "images", f"a{i}.png"), 20 + i)
    for i in range(1, 3):
        image(os.path.join(mb, "CaptionQA", "images", f"c{i}.png"), 30 + i)
    dump(os.path.join(mb, "ActionOrder", "ActionOrder.json"), {
        "meta_data": {"task": "ActionOrder", "question_type": "multi-choice",
                      "task_instruction": ["Order the actions.", "Pick the next step."]},
        "data": [
            {"sample_id": 0, "task_instruction_id": 1,
             "task_instance": {"context": "Steps: {image#1}{image#2} What comes next?",
                               "images_path": ["a1.png", "a2.png"], "choice_list": ["open", "close", "wait"]},
             "response": "close", "image_quantity_level": "Few"},
            {"sample_id": 1, "task_instruction_id": 0,
             "task_instance": {"context": "{image#1} then {table#2} then {image#3}",
                               "images_path": ["a1.png", "a2.png", "a3.png"], "choice_list": ["1-2-3", "3-2-1"]},
             "response": "3-2-1", "image_quantity_level": "Few"},
        ]})
    dump(os.path.join(mb, "CaptionQA", "CaptionQA.json"), {
        "meta_data": {"task": "CaptionQA", "question_type": "open-ended",
                      "task_instruction": ["Answer in one word."]},
        "data": [
            {"sample_id": "s0", "task_instruction_id": 0,
             "task_instance": {"context": "{image#1} {image#2} What is shown?", "images_path": ["c1.png", "c2.png"]},
             "response": 42},
        ]})


def make_kvpress_budgets():
    """Entries kvpress 0.5.5 keeps per layer (compute_n_kept, PyramidKVPress.get_layer_budget) for the claims of
    `fc-eval methods`; tests/cli/methods_budgets.sh compares `fc-eval methods --check --tokens --layers`."""
    import importlib.metadata
    from kvpress import PyramidKVPress
    from kvpress.utils import compute_n_kept

    class Cfg:
        num_hidden_layers = 1

    class Layer:
        config = Cfg()

        def __init__(self, i):
            self.layer_idx = i

    lines = [f"# method ratio tokens layers | entries kept per layer (kvpress {importlib.metadata.version('kvpress')})"]
    for ratio, S, L in ((5, 100, 32), (5, 600, 32), (5, 10, 2), (3, 99, 4), (4, 600, 4), (10, 1000, 2)):
        cr = 1 - 1 / ratio
        lines.append(f"knorm {ratio} {S} {L} | " + " ".join([str(compute_n_kept(S, cr))] * L))
    for ratio, S, L in ((5, 600, 32), (5, 100, 2), (5, 6400, 8), (5, 8000, 8), (2, 3000, 28), (2, 2000, 4), (10, 20000, 32)):
        Cfg.num_hidden_layers = L
        p = PyramidKVPress(compression_ratio=1 - 1 / ratio)
        lines.append(f"pyramidkv {ratio} {S} {L} | " + " ".join(str(p.get_layer_budget(Layer(i), S)) for i in range(L)))
    with open(os.path.join(FIX, "kvpress_budgets.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")


def make_ccm_heldout():
    """Copies of the tiny LLaVA CCM fixture (tools/make_compress_fixtures.py) with the train_ids / val_ids
    metadata fc-train writes: one that trained on an id of llava.json, one whose ids are all elsewhere."""
    from safetensors.numpy import load_file, save_file
    from safetensors import safe_open
    src = os.path.join(ROOT, "tests", "fixtures", "compress", "ccm_llava_tiny_random.safetensors")
    with safe_open(src, "np") as f:
        meta = dict(f.metadata() or {})
    tensors = load_file(src)
    for name, train, val in (("ccm_trained_on_single1", ["train-a", "single-1"], ["val-a"]),
                             ("ccm_validated_on_assistant3", ["train-a"], ["assistant-3"]),
                             ("ccm_heldout", ["train-a", "train-b"], ["val-a"])):
        m = dict(meta)
        m["train_ids"] = json.dumps(train)
        m["val_ids"] = json.dumps(val)
        save_file(tensors, os.path.join(FIX, name + ".safetensors"), metadata=m)


# corpus: (path under tests/corpus/data, content or None for a folder case, README line)
def make_corpus():
    if os.path.isdir(COR):
        shutil.rmtree(COR)
    os.makedirs(COR)
    good = llava_records()[0]
    cases = []

    def llava(name, recs, what, expect):
        dump(os.path.join(COR, name), recs)
        cases.append((name, what, expect))

    def raw(name, text, what, expect):
        with open(os.path.join(COR, name), "w", encoding="utf-8") as f:
            f.write(text)
        cases.append((name, what, expect))

    def rec(**kw):
        r = json.loads(json.dumps(good))
        r.update(kw)
        return r

    image(os.path.join(COR, "images", "gqa", "images", "1.png"), 1)
    llava("llava_missing_image.json", [good, rec(id="r1", image="gqa/images/99.png")],
          "record 1 names an image that is not there",
          "record 1 \\(id 'r1'\\): image 'gqa/images/99\\.png' not found in")
    llava("llava_no_image.json", [rec(id="t0", image=None)], "record 0 is text only (`image` null)",
          "record 0 \\(id 't0'\\): no image \\(a text-only record\\)")
    llava("llava_no_id.json", [{k: v for k, v in good.items() if k != "id"}], "record 0 has no `id`",
          "record 0: no 'id' \\(string or number\\)$")
    llava("llava_bad_role.json", [rec(conversations=[{"from": "robot", "value": "<image> q"},
                                                    {"from": "gpt", "value": "a"}])],
          "a turn `from` robot", "record 0 \\(id 'single-1'\\): conversations\\[0\\]: unknown speaker 'robot'")
    llava("llava_gpt_first.json", [rec(conversations=[{"from": "gpt", "value": "a"},
                                                     {"from": "human", "value": "<image> q"}])],
          "the first turn is gpt's", "conversations\\[0\\] is a gpt turn")
    llava("llava_odd_turns.json", [rec(conversations=good["conversations"] + [{"from": "human", "value": "more?"}])],
          "ends with an unanswered human turn", "conversations end with a human turn")
    llava("llava_marker_count.json", [rec(image=["gqa/images/1.png", "gqa/images/1.png"])],
          "two images, one `<image>` marker", "2 images but 1 <image> marker in the human turns")
    llava("llava_value_not_string.json", [rec(conversations=[{"from": "human", "value": 5},
                                                            {"from": "gpt", "value": "a"}])],
          "a turn's `value` is a number", "conversations\\[0\\] lacks a string 'from' or 'value'")
    llava("llava_escape.json", [rec(image="../secret.png")], "an image path with `..`",
          "image path '\\.\\./secret\\.png' leaves the images folder")
    llava("llava_not_array.json", {"id": "x"}, "the top level is an object (llava format forced)",
          "not a JSON array of conversation records")
    raw("truncated.json", json.dumps([good])[:-9], "the JSON is cut off", "not valid JSON \\(at byte [0-9]+\\)")
    raw("trailing.json", json.dumps([good]) + " ]", "text after the JSON value", "text after the JSON value")
    raw("empty.json", "", "0 bytes", "not valid JSON \\(at byte 0\\)")
    dump(os.path.join(COR, "gqa_no_answer.json"), {"5": {"imageId": "n1", "question": "q?"}})
    cases.append(("gqa_no_answer.json", "a question without `answer` (a test split)",
                  "record 0 \\(id '5'\\): no string 'answer'"))
    dump(os.path.join(COR, "gqa_no_image.json"), [{"question_id": 3, "question": "q?", "answer": "a"}])
    cases.append(("gqa_no_image.json", "a listed question without an image id",
                  "record 0 \\(id '3'\\): no image: none of 'imageId'"))
    # MileBench task folders
    t = os.path.join(COR, "mb_bad_choice", "mb_bad_choice")
    image(os.path.join(t, "images", "x.png"), 2)
    dump(os.path.join(t, "mb_bad_choice.json"), {
        "meta_data": {"question_type": "multi-choice", "task_instruction": ["Pick."]},
        "data": [{"sample_id": 0, "task_instruction_id": 0,
                  "task_instance": {"context": "{image#1}?", "images_path": ["x.png"], "choice_list": ["a", "b"]},
                  "response": "c"}]})
    cases.append(("mb_bad_choice", "a multi-choice response that is not among the choices",
                  "mb_bad_choice\\.json: record 0 \\(id 'mb_bad_choice/0'\\): response 'c' is not one of the choices"))
    t = os.path.join(COR, "mb_bad_marker", "mb_bad_marker")
    image(os.path.join(t, "images", "x.png"), 3)
    dump(os.path.join(t, "mb_bad_marker.json"), {
        "meta_data": {"question_type": "open-ended", "task_instruction": ["Say."]},
        "data": [{"sample_id": 4, "task_instruction_id": 0,
                  "task_instance": {"context": "{image#2}?", "images_path": ["x.png"]}, "response": "r"}]})
    cases.append(("mb_bad_marker", "context names {image#2} of a one-image sample",
                  "record 0 \\(id 'mb_bad_marker/4'\\): context marker '\\{image#2\\}' but the sample has 1 image"))
    os.makedirs(os.path.join(COR, "mb_empty_folder", "nothing"))
    with open(os.path.join(COR, "mb_empty_folder", "nothing", "README"), "w") as f:
        f.write("a folder with no MileBench task in it\n")
    cases.append(("mb_empty_folder", "a folder without any task folder",
                  "no MileBench task folder \\(X with X/X.json and X/images/\\) in it"))
    with open(os.path.join(COR, "README.md"), "w") as f:
        f.write("# Dataset corpus\n\nMade by `tools/make_data_fixtures.py` (never edit by hand). Each case is wrong in "
                "exactly one way; `tests/cli/data_corpus.sh` runs `fc-eval data --images tests/corpus/data/images` on each "
                "(release and ASan builds) and checks the one-line error: file, record (index, id) and problem.\n"
                "Cases starting `llava_` are read with `--format llava`, `gqa_` with `--format gqa`, `mb_` are "
                "MileBench folders; the others are read with `--format llava`.\n\n"
                "| case | what is wrong | expected error (regex, after the file name) |\n| --- | --- | --- |\n")
        for name, what, expect in cases:
            f.write(f"| `{name}` | {what} | `{expect.replace('|', '&#124;')}` |\n")
    with open(os.path.join(COR, "cases.txt"), "w") as f:
        for name, what, expect in cases:
            f.write(f"{name}|{expect}\n")


def main():
    make_fixtures()
    make_ccm_heldout()
    make_kvpress_budgets()
    make_corpus()
    ver = (f"python {sys.version.split()[0]}, numpy {np.__version__}, Pillow {PIL.__version__}, "
           f"safetensors {safetensors.__version__}\n")
    for d in (FIX, COR):
        with open(os.path.join(d, "VERSIONS"), "w") as f:
            f.write(ver)
    print("wrote", FIX, COR)


if __name__ == "__main__":
    main()
