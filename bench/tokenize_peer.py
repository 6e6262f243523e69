"""tokenize_peer.py: the Python peer of bench/tokenize.c: the `tokenizers` library on the same file.
   python tokenize_peer.py llava|minicpmv MODEL_DIR FILE REPS
LLaVA: tokenizers.Tokenizer.from_file(tokenizer.json). MiniCPM-V: transformers' Qwen2TokenizerFast from the folder
(the same pipeline the fixtures use), timing its backend tokenizers.Tokenizer.encode.
Prints "<best seconds per encode> <token count> <sum of ids>"."""
import os
import sys
import time


def main():
    kind, model, path, reps = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    if kind == "llava":
        from tokenizers import Tokenizer
        tok = Tokenizer.from_file(os.path.join(model, "tokenizer.json"))
    else:
        import transformers
        transformers.logging.set_verbosity_error()
        tok = transformers.Qwen2TokenizerFast.from_pretrained(model).backend_tokenizer
    with open(path, encoding="utf-8", newline="") as f:  # newline="": keep \r\n as is
        text = f.read()
    best, ids = 1e30, []
    for _ in range(reps):
        t0 = time.perf_counter()
        ids = tok.encode(text, add_special_tokens=True).ids
        best = min(best, time.perf_counter() - t0)
    print(f"{best:.6f} {len(ids)} {sum(ids)}")


if __name__ == "__main__":
    main()
