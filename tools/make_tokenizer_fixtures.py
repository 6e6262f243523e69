#!/usr/bin/env python3
"""make_tokenizer_fixtures.py: reference token ids, decodes and chat prompts for tests/unit/test_tokenizer.c.

Writes tests/fixtures/tokenizer/:
  corpus.json   {"versions", "strings", "strings_hex" (UTF-8 as hex), "nfc_hex": [[in, NFC(in)]...]}: >= 500 seeded, varied strings (English, code, CJK, Hangul,
                emoji with ZWJ and skin tones, NFD accents, whitespace runs, tabs, CRLF, digit runs,
                contractions, special/added tokens inline, long words, unusual spaces, random code points).
  llava.json    per string: ids (add_special_tokens True / False) and decode (skip_special False / True),
                long_ids: the ids of long_text() (all strings joined by \\n, twice),
                from tokenizers.Tokenizer.from_file(llava-1.5-7b-hf/tokenizer.json); random id lists and
                their decodes (byte-fallback runs that are ill-formed UTF-8 included).
  minicpmv.json the same from transformers' Qwen2TokenizerFast.from_pretrained(minicpm-v-2_6), which
                converts vocab.json + merges.txt + tokenizer_config.json with Qwen2Converter (the
                MiniCPMVTokenizerFast remote class only subclasses it); encode/decode through its
                backend tokenizers.Tokenizer.
  chat.json     chat-template renders (jinja through transformers' apply_chat_template on the models' own
                templates), the expanded prompts and their ids: LLaVA through LlavaProcessor (576
                <image> per image), MiniCPM-V through the expansion of MiniCPMVProcessor /
                MiniCPMVImageProcessor.get_slice_image_placeholder re-written below (the remote code is not
                installable offline).
Deterministic (seeded). Versions are recorded in every file.
Usage: python tools/make_tokenizer_fixtures.py   (SHARED=../shared by default)
"""
import json
import os
import random
import sys
import unicodedata

import tokenizers
import transformers
from tokenizers import Tokenizer

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
SHARED = os.environ.get("SHARED", os.path.join(ROOT, "..", "shared"))
MODELS = os.path.join(SHARED, "data", "models")
OUT = os.path.join(ROOT, "tests", "fixtures", "tokenizer")
VERSIONS = {
    "python": sys.version.split()[0],
    "tokenizers": tokenizers.__version__,
    "transformers": transformers.__version__,
    "unicodedata": unicodedata.unidata_version,
}


def hx(x):
    """UTF-8 bytes as hex: the C test reads texts with embedded NULs exactly (cJSON strings stop at NUL)."""
    return x.encode("utf-8").hex()


def corpus():
    rnd = random.Random(1234)
    s = []
    english = [
        "Hello this is a test", "The quick brown fox jumps over the lazy dog.", "What are these?",
        "What is in the image?", "Two cats lying on a pink blanket.", "Is the man wearing a hat? Yes, he is.",
        "I can't believe it's not butter!", "They'll arrive at 10:30 a.m. on Monday.", "Dr. Smith's office",
        "e-mail: someone@example.com, url: https://example.org/a?b=c&d=e#f", "(parenthesised) [bracketed] {braced}",
        "A sentence with   three spaces.", "Trailing space ", " leading space", "  two leading",
        "UPPER CASE WORDS AND Mixed Case", "snake_case_identifier and camelCaseIdentifier", "\"quoted\" and 'single'",
        "Numbers: 0 1 12 123 1234 12345 3.14159 -2.5e10 1,000,000", "50% off!!! $19.99 #1 @user ^_^ ~tilde~ `tick`",
        "Multiple\nlines\nof\ntext", "Windows\r\nline\r\nendings", "tabs\tbetween\twords", "\t\tindented with tabs",
        "mixed \t \n whitespace \r\n runs", "ends with newline\n", "\n\nstarts with newlines", "a\n\n\nb", "a \n b",
        "Question: What color is the car?\nAnswer:", "USER: <image>\nWhat are these? ASSISTANT:",
        "USER: <image>\nWhat are these? ASSISTANT: Two cats. USER: Colors? ASSISTANT:",
    ]
    s += english
    code = [
        "def f(x):\n    return x * 2\n", "int main(void) {\n\tprintf(\"%d\\n\", 42);\n\treturn 0;\n}",
        "for (int i = 0; i < n; i++) a[i] += b[i];", "x = [i**2 for i in range(10) if i % 2 == 0]",
        "#include <stdio.h>\n#define MAX(a,b) ((a)>(b)?(a):(b))", "SELECT * FROM t WHERE id = 7;",
        "if (a && b || !c) { return -1; }", "    indented    code    ", "// comment\n/* block */",
        "{\"key\": [1, 2, 3], \"nested\": {\"a\": null}}", "<div class=\"x\">html</div>", "$ ls -la | grep foo > out.txt",
    ]
    s += code
    cjk = [
        "你好，世界！", "这是一个测试。图片里有什么？", "我爱自然语言处理", "中文和English混合text", "数字123和汉字",
        "こんにちは世界", "これはテストです。カタカナとひらがな", "東京は日本の首都です", "안녕하세요 세계",
        "한국어 텍스트 테스트입니다", "ㄱㄴㄷ ㅏㅑㅓ", "繁體中文測試", "鬱龘齉", "𠀀𠀁𪚥 (supplementary CJK)",
    ]
    s += cjk
    emoji = [
        "😀", "I ❤️ NY", "👍🏽 thumbs", "👨‍👩‍👧‍👦 family", "🏳️‍🌈 flag", "👩🏿‍💻 coder", "🇯🇵🇺🇸 flags", "🤷‍♂️",
        "emoji at end 🎉", "🎉🎉🎉", "✅ done ❌ failed", "1️⃣ keycap", "🧑🏻‍🤝‍🧑🏾",
    ]
    s += emoji
    nfd = ["café", "résumé naïve Ångström", "Crème brûlée", "São Paulo", "Ελληνικά ᾅ", "Tiếng Việt có dấu",
           "한국어", "각", "힣", "Ωmega Å K"]
    s += [unicodedata.normalize("NFD", x) for x in nfd]
    s += ["a\u0323\u0302 vs a\u0302\u0323", "e\u0301\u0301", "\u0301 leading combining", "q\u0307\u0323",
          "\u1100\u1161\u11a8 jamo", "\u1100\u1161 \u1112\u1175\u11c2", "\u00c5\u212b\u0041\u030a",
          "\u0958\u0959 devanagari", "\u2126 ohm \u212a kelvin", "\u0344\u0340\u0341", "\ufb2c hebrew",
          "A\u030a\u0301", "\u1e9b\u0323", "o\u0328\u0304", "\u0d4a\u0d4b", "\u09cb\u09c7\u09be", "\u0b47\u0b3e"]
    s += ["they're", "THEY'RE", "She's", "SHE'S", "we'll", "WE'LL", "I've", "I'm", "he'd", "don't", "it’s",
          "'s alone", "x's'll're've'm'd't", "'S 'T 'Re 'vE", "'ſ long s", "rock'n'roll"]
    s += ["<image>", "<image><image>", "<image>\nDescribe", "text<image>text", " <image> ", "<s>hello</s>",
          "<unk>", "<unk><unk><unk>", "a<unk>b", "<pad>", "<|im_start|>user\nhi<|im_end|>\n",
          "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n",
          "<|endoftext|>", "<slice><unk></slice>", "<image_id>0</image_id><image><unk></image>", "<ref>x</ref><box>1 2</box>",
          "<imag", "<image", "<<image>>", "<image_id>", "</image_id>", "<|reserved_special_token_3|>", "<|im_end",
          "<quad></quad><point></point>", "<s>", "</s>", "< s>", "<IMAGE>"]
    s += ["", " ", "  ", "   ", "\t", "\n", "\r\n", "\r", " \n ", "\n \n", "a", "I", ".", "▁", "▁▁x", "Ġ", "ĠĠ"]
    s += ["a" * 1000, "supercalifragilisticexpialidocious" * 20, "ab" * 300, "0123456789" * 50, " " * 200,
          "\n" * 50, "!?" * 100, "😀" * 100, "汉" * 300, "x y " * 200]
    s += ["\u00a0nbsp\u00a0", "ogham\u1680space", "mongolian\u180evs", "zero\u200bwidth", "line\u2028sep",
          "para\u2029sep", "ideographic\u3000space", "nel\u0085char", "bom\ufeffin", "vt\x0bff\x0c", "fs\x1cgs\x1d",
          "thin\u2009space", "a \u180eb", "x\u180e\u180e y", "\u180e\n", "a \u200bb", "a \x1cb", "a \x85b",
          "a  \u180e", "a \u2028\u2028b", "  \u00a0x", "\u3000\u3000\u3000y", "narrow\u202fnbsp", "math\u205fspace", "en\u2002em\u2003", " \u00a0 \u3000 mixed",
          "nul\x00byte", "\x00", "ctrl\x01\x02\x7f", "\u2028\u2029", "soft\u00adhyphen"]
    # random words from several scripts
    alphabets = ["abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "0123456789", " .,;:!?'\"-()\n\t",
                 "αβγδεζηθικλμνξοπρστυφχψω", "абвгдежзийклмнопрстуфхцчшщыэюя", "日本語中文字漢字学生先生",
                 "ひらがなカタカナ", "가나다라마바사아자차카타파하", "éèêëàâäôöûüçñ", "🙂🚀🌍🍕👍🏼",
                 "אבגדהוזחטיכלמנ", "ابتثجحخدذرزسشص", "अआइईउऊएऐओऔकखग"]
    while len(s) < 460:
        k = rnd.randint(1, 4)
        pool = "".join(rnd.sample(alphabets, k))
        n = rnd.randint(1, 60)
        txt = "".join(rnd.choice(pool) for _ in range(n))
        if rnd.random() < 0.2:
            txt = unicodedata.normalize("NFD", txt)
        s.append(txt)
    # random code points from across the BMP and astral planes (no surrogates)
    while len(s) < 540:
        n = rnd.randint(1, 20)
        cps = []
        while len(cps) < n:
            cp = rnd.choice([rnd.randint(0x20, 0x7E), rnd.randint(0xA0, 0x2FF), rnd.randint(0x300, 0x36F),
                             rnd.randint(0x370, 0x1FFF), rnd.randint(0x2000, 0x2BFF), rnd.randint(0x3000, 0x9FFF),
                             rnd.randint(0xAC00, 0xD7A3), rnd.randint(0xE000, 0xFFFD), rnd.randint(0x10000, 0x1FAFF),
                             rnd.randint(0x20000, 0x2FFFF)])
            if 0xD800 <= cp <= 0xDFFF:
                continue
            cps.append(cp)
        s.append("".join(map(chr, cps)))
    return s


def nfc_cases(strings):
    """[input, NFC(input)] for every corpus string that NFC changes, every character with a canonical
    decomposition (as itself and as its NFD), a sample of Hangul syllables as jamo, and shuffled marks."""
    rnd = random.Random(7)
    cases = [[x, unicodedata.normalize("NFC", x)] for x in strings if unicodedata.normalize("NFC", x) != x]
    for cp in range(0x110000):
        if 0xD800 <= cp <= 0xDFFF or 0xAC00 <= cp <= 0xD7A3:
            continue
        c = chr(cp)
        if unicodedata.decomposition(c) and not unicodedata.decomposition(c).startswith("<"):
            d = unicodedata.normalize("NFD", c)
            cases.append([c + d, unicodedata.normalize("NFC", c + d)])
    for cp in rnd.sample(range(0xAC00, 0xD7A4), 300):
        d = unicodedata.normalize("NFD", chr(cp))
        cases.append([d, unicodedata.normalize("NFC", d)])
    marks = [chr(c) for c in range(0x300, 0x370)] + ["\u0f71", "\u0f72", "\u05b0", "\u0651", "\u093c", "\u3099"]
    for _ in range(300):
        x = rnd.choice("aeiouAEIOUnNcCsSzZ\u03b1\u03c9\u0915\u304b\u1100\u1161")
        x += "".join(rnd.choice(marks) for _ in range(rnd.randint(1, 5)))
        cases.append([x, unicodedata.normalize("NFC", x)])
    return cases


def decode_cases(tok, n_vocab, special_ids, byte_ids, rnd):
    cases = []
    for i in range(60):
        n = rnd.randint(0, 12)
        ids = []
        for _ in range(n):
            r = rnd.random()
            if r < 0.35 and byte_ids:
                ids.append(rnd.choice(byte_ids))
            elif r < 0.45:
                ids.append(rnd.choice(special_ids))
            else:
                ids.append(rnd.randrange(n_vocab))
        cases.append({"ids": ids, "decode_hex": hx(tok.decode(ids, skip_special_tokens=False)),
                      "decode_skip_hex": hx(tok.decode(ids, skip_special_tokens=True))})
    return cases


def long_text(strings):
    """One long text: the corpus joined by newlines, twice (so words repeat, as in real text)."""
    return "\n".join(strings + strings)


def encode_all(tok, strings):
    out = []
    for x in strings:
        a = tok.encode(x, add_special_tokens=True).ids
        b = tok.encode(x, add_special_tokens=False).ids
        out.append({"ids": a, "ids_plain": b, "decode_hex": hx(tok.decode(a, skip_special_tokens=False)),
                    "decode_skip_hex": hx(tok.decode(a, skip_special_tokens=True))})
    return out


def minicpmv_placeholder(k, grid, query_num=64, use_image_id=True):
    """MiniCPMVImageProcessor.get_slice_image_placeholder + get_grid_placeholder (openbmb/MiniCPM-V-2_6)."""
    ph = "<image>" + "<unk>" * query_num + "</image>"
    if use_image_id:
        ph = f"<image_id>{k}</image_id>" + ph
    if grid is not None:
        cols, rows = grid
        sl = "<slice>" + "<unk>" * query_num + "</slice>"
        ph += "\n".join("".join(sl for _ in range(cols)) for _ in range(rows))
    return ph


def minicpmv_expand(text, grids):
    """MiniCPMVProcessor._convert_images_texts_to_inputs: split on the literal tag, insert image k's placeholder."""
    tag = "(<image>./</image>)"
    chunks = text.split(tag)
    assert len(chunks) - 1 == len(grids)
    out = ""
    for i, g in enumerate(grids):
        out += chunks[i] + minicpmv_placeholder(i, g)
    return out + chunks[-1]


def chat_fixtures(llava_tok, qwen):
    from PIL import Image
    from transformers import LlavaProcessor

    proc = LlavaProcessor.from_pretrained(os.path.join(MODELS, "llava-1.5-7b-hf"))
    img = Image.new("RGB", (32, 32), (120, 30, 200))
    # messages: [role, n_images, text or None]
    llava_convs = [
        [["user", 1, "What are these?"]],
        [["user", 1, "What are these?"], ["assistant", 0, "Two cats."], ["user", 0, "Colors?"]],
        [["system", 0, "Be brief."], ["user", 1, "Describe the image."]],
        [["user", 2, "Compare the two pictures."]],
        [["user", 0, "No image here, just text."]],
        [["user", 1, "Is it  raining?\nAnswer yes or no."]],
    ]
    llava = []
    for conv in llava_convs:
        msgs = []
        for role, n_img, text in conv:
            content = [{"type": "image"} for _ in range(n_img)]
            if text is not None:
                content.append({"type": "text", "text": text})
            msgs.append({"role": role, "content": content})
        rendered = proc.apply_chat_template(msgs, add_generation_prompt=True, tokenize=False)
        n_images = sum(m[1] for m in conv)
        enc = proc(text=rendered, images=[img] * n_images if n_images else None, return_tensors=None)
        llava.append({"messages": conv, "rendered": rendered, "ids": list(enc["input_ids"][0])})
    mini_convs = [
        ([["user", 1, "What is in the image?"]], [None]),
        ([["user", 1, "What is in the image?"]], [[2, 1]]),
        ([["user", 1, "Describe it."]], [[2, 2]]),
        ([["user", 1, "Describe it."]], [[3, 2]]),
        ([["user", 1, "Describe it."]], [[3, 3]]),
        ([["user", 2, "Compare."]], [[4, 2], None]),
        ([["system", 0, "You are terse."], ["user", 1, "Count the cats."]], [None]),
        ([["user", 1, "What is it?"], ["assistant", 0, "A cat."], ["user", 0, "What colour?"]], [[2, 1]]),
        ([["user", 0, "Just text, no image."]], []),
    ]
    mini = []
    for conv, grids in mini_convs:
        msgs = []
        for role, n_img, text in conv:
            parts = ["(<image>./</image>)"] * n_img + ([text] if text is not None else [])
            msgs.append({"role": role, "content": "\n".join(parts)})
        rendered = qwen.apply_chat_template(msgs, add_generation_prompt=True, tokenize=False)
        expanded = minicpmv_expand(rendered, [tuple(g) if g else None for g in grids])
        ids = qwen.encode(expanded)
        mini.append({"messages": conv, "grids": [g if g else [0, 0] for g in grids], "rendered": rendered,
                     "expanded": expanded, "ids": ids})
    return {"versions": VERSIONS, "llava": llava, "minicpmv": mini,
            "llava_processor": "LlavaProcessor.from_pretrained(llava-1.5-7b-hf), image 32x32 RGB",
            "minicpmv_expansion": "re-implementation of MiniCPMVProcessor (openbmb/MiniCPM-V-2_6) in this script"}


def main():
    os.makedirs(OUT, exist_ok=True)
    strings = corpus()
    assert len(strings) >= 500, len(strings)
    rnd = random.Random(99)

    llava = Tokenizer.from_file(os.path.join(MODELS, "llava-1.5-7b-hf", "tokenizer.json"))
    from transformers import Qwen2TokenizerFast
    qwen = Qwen2TokenizerFast.from_pretrained(os.path.join(MODELS, "minicpm-v-2_6"))
    qb = qwen.backend_tokenizer

    def dump(name, obj):
        with open(os.path.join(OUT, name), "w", encoding="utf-8") as f:
            json.dump(obj, f, ensure_ascii=False, indent=None, separators=(",", ":"))
            f.write("\n")

    dump("corpus.json", {"versions": VERSIONS, "strings": strings,
                         "strings_hex": [hx(x) for x in strings], "nfc_hex": [[hx(a), hx(b)] for a, b in nfc_cases(strings)]})
    lv = llava.get_vocab(with_added_tokens=True)
    dump("llava.json", {
        "versions": VERSIONS, "source": "tokenizers.Tokenizer.from_file(llava-1.5-7b-hf/tokenizer.json)",
        "vocab_size": llava.get_vocab_size(with_added_tokens=True), "bos": 1, "eos": 2,
        "token_ids": {k: lv[k] for k in ["<unk>", "<s>", "</s>", "<image>", "<pad>", "▁the", "<0x0A>"]},
        "encode": encode_all(llava, strings),
        "long_ids": llava.encode(long_text(strings)).ids,
        "decode_random": decode_cases(llava, 32002, [0, 1, 2, 32000, 32001], [lv["<0x%02X>" % b] for b in range(256)], rnd),
    })
    qv = qb.get_vocab(with_added_tokens=True)
    inv = {}
    for k, v in qv.items():
        inv[v] = k
    dump("minicpmv.json", {
        "versions": VERSIONS,
        "source": "transformers.Qwen2TokenizerFast.from_pretrained(minicpm-v-2_6) (Qwen2Converter from vocab.json"
                  " + merges.txt, added tokens from tokenizer_config.json); encode/decode via its backend_tokenizer",
        "vocab_size": len(qwen), "bos": qwen.bos_token_id, "eos": qwen.eos_token_id,
        "token_ids": {k: qv[k] for k in ["<unk>", "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<image>", "</image>",
                                         "<slice>", "</slice>", "<image_id>", "</image_id>", "Ġthe", "Ċ"]},
        "encode": encode_all(qb, strings),
        "long_ids": qb.encode(long_text(strings)).ids,
        "decode_random": decode_cases(qb, len(qwen), list(range(151643, 151666)) + [128244],
                                      [qv[c] for c in ["Ġ", "Ċ", "Â", "Ã", "ð", "Ł", "¤", "©", "ģ", "¨"]], rnd),
    })
    dump("chat.json", chat_fixtures(llava, qwen))
    with open(os.path.join(OUT, "VERSIONS"), "w") as f:
        for k, v in VERSIONS.items():
            f.write(f"{k} {v}\n")
    print(f"tokenizer fixtures: {len(strings)} strings -> {OUT}")


if __name__ == "__main__":
    main()
