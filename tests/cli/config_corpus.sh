#!/usr/bin/env bash
# config_corpus.sh: every case of the config.json and YAML bad-input corpus (tests/corpus/config,
# tests/corpus/yaml; see their READMEs) fails with one line naming the file, the line or key, and the
# problem, in the release and the ASan+UBSan build: config.json cases through `fc-eval inspect <folder>`
# and `fc-eval config --check <folder>`, YAML cases through `fc-eval config --check FILE`. The example
# configs in configs/ and the real model configs in ../shared/data/models pass the same check.
. "$(dirname "$0")/lib.sh"
C=tests/corpus/config
Y=tests/corpus/yaml
# case | regex the error must match (after "fc-eval: error: ")
config_cases=(
  "invalid_json|invalid_json/config\.json: invalid JSON near byte offset 8[0-9] \(line 5, column"
  "truncated_json|truncated_json/config\.json: invalid JSON near byte offset [0-9]+ \(line 19"
  "invalid_utf8|invalid_utf8/config\.json: invalid UTF-8 \(byte 0xff\) at byte offset 263 \(line 11"
  "empty|empty/config\.json: file is empty"
  "top_level_array|top_level_array/config\.json: expected a JSON object at top level, got array"
  "wrong_type_heads|wrong_type_heads/config\.json: text_config\.num_attention_heads: expected integer, got string"
  "wrong_type_eps|wrong_type_eps/config\.json: rms_norm_eps: expected number, got array"
  "wrong_type_text_config|wrong_type_text_config/config\.json: text_config: expected object, got string"
  "negative_heads|negative_heads/config\.json: text_config\.num_attention_heads: must be in \[1, 1048575\], got -32"
  "heads_not_divisible|heads_not_divisible/config\.json: text_config\.num_attention_heads: 30 does not divide hidden_size 4096"
  "kv_heads_not_dividing|kv_heads_not_dividing/config\.json: num_key_value_heads: 5 does not divide num_attention_heads 28"
  "vision_heads_not_divisible|vision_heads_not_divisible/config\.json: vision_config\.num_attention_heads: 15 does not divide hidden_size 1024"
  "absurd_vocab|absurd_vocab/config\.json: vocab_size: must be in \[1, 16777215\], got 1000000000000"
  "absurd_layers|absurd_layers/config\.json: text_config\.num_hidden_layers: must be in \[1, 1048575\], got 2147483648"
  "zero_eps|zero_eps/config\.json: rms_norm_eps: must be in \(0, 1\), got 0"
  "missing_model_type|missing_model_type/config\.json: model_type: missing"
  "unknown_model_type|unknown_model_type/config\.json: model_type: 'gpt2' is not supported"
  "unknown_text_model_type|unknown_text_model_type/config\.json: text_config\.model_type: text model 'mistral' is not supported"
  "unknown_activation|unknown_activation/config\.json: hidden_act: unknown activation 'swiglu'"
  "rope_scaling_linear|rope_scaling_linear/config\.json: rope_scaling: rope scaling 'linear' is not supported"
  "feature_layer_out_of_range|feature_layer_out_of_range/config\.json: vision_feature_layer: must be in \[-25, 24\], got -30"
  "bad_select_strategy|bad_select_strategy/config\.json: vision_feature_select_strategy: expected 'default' or 'full', got 'cls'"
  "duplicate_key|duplicate_key/config\.json: hidden_size: duplicate key"
)
yaml_cases=(
  "syntax_error|syntax_error\.yaml:20:5: YAML syntax error: did not find expected ',' or '\]'"
  "unknown_key|unknown_key\.yaml:20: unknown key 'learnig_rate' in section 'training'"
  "unknown_top_key|unknown_top_key\.yaml:23: unknown key 'max_new_token' at top level \(did you mean 'max_new_tokens'\?\)"
  "type_error|type_error\.yaml:20: training\.lr: expected a number, got 'fast'"
  "type_error_int|type_error_int\.yaml:17: arrival\.num_requests: expected an integer, got '90\.5'"
  "scalar_for_section|scalar_for_section\.yaml:19: batching: expected a section .*, got a list"
  "duplicate_key|duplicate_key\.yaml:23: duplicate key 'seed' in section 'training' \(first set at line 22\)"
  "out_of_range|out_of_range\.yaml:15: compressor\.dropout: 1\.5 is out of range \[0, 0\.99\]"
  "bad_ratio|bad_ratio\.yaml:11: compressor\.ratio: expected a ratio like '5x'.*got '0\.8'"
  "bad_enum|bad_enum\.yaml:15: arrival\.process: expected one of poisson, constant; got 'bursty'"
  "bad_method|bad_method\.yaml:12: methods\[3\]: expected a method as 'name' or 'name:key=value,\.\.\.', got 'snapkv:ratio=5x,window'"
  "missing_required|missing_required\.yaml:4: missing required key 'output' at top level"
  "tabs|tabs\.yaml:21:1: YAML syntax error: found a tab character that violates indentation"
  "empty|empty\.yaml: file is empty"
  "comments_only|comments_only\.yaml: file is empty \(no YAML document\)"
  "not_utf8|not_utf8\.yaml:23: invalid text at byte offset 989: invalid trailing UTF-8 octet"
  "no_kind|no_kind\.yaml: no top-level 'kind:' key"
  "unknown_kind|unknown_kind\.yaml:4: kind: expected train or eval, got 'serve'"
  "two_documents|two_documents\.yaml:30: a second YAML document"
  "ratio_window_mismatch|ratio_window_mismatch\.yaml: compressor\.ratio 5x does not match compressor\.window 4"
  "deep_flow|deep_flow\.yaml:19:41: nesting depth 33 is over the limit of 32"
  "deep_flow_map|deep_flow_map\.yaml:23:141: nesting depth 33 is over the limit of 32"
  "deep_block|deep_block\.yaml:50:65: nesting depth 33 is over the limit of 32"
)
n_config=$(find "$C" -mindepth 1 -maxdepth 1 -type d | wc -l)
n_yaml=$(ls "$Y" | grep -c '\.yaml$')
if [ "$n_config" -eq ${#config_cases[@]} ]; then pass "every config corpus case has a check"
else fail "config corpus has $n_config cases, the script checks ${#config_cases[@]}"; fi
if [ "$n_yaml" -eq ${#yaml_cases[@]} ]; then pass "every yaml corpus case has a check"
else fail "yaml corpus has $n_yaml cases, the script checks ${#yaml_cases[@]}"; fi

for b in "$FC_BIN" "$FC_ASAN_BIN"; do
  for c in "${config_cases[@]}"; do
    name=${c%%|*} re=${c#*|}
    check_error "$b inspect config/$name" "^fc-eval: error: $C/$re" "$b/fc-eval" inspect "$C/$name"
    check_error "$b config --check config/$name" "^fc-eval: error: $C/$re" "$b/fc-eval" config --check "$C/$name"
  done
  for c in "${yaml_cases[@]}"; do
    name=${c%%|*} re=${c#*|}
    check_error "$b config --check yaml/$name" "^fc-eval: error: $Y/$re" "$b/fc-eval" config --check "$Y/$name.yaml"
  done
  for f in configs/train-llava.yaml configs/eval-llava.yaml; do
    check_ok "$b config --check $f" "$b/fc-eval" config --check "$f"
    check_grep "$b $f echoes its values" '^  ratio: 5x$|^  - "knorm:ratio=5x"$' "$TMPD/out"
  done
  check_ok "$b config --check llava config.json" "$b/fc-eval" config --check "$FC_SHARED/data/models/llava-1.5-7b-hf"
  check_grep "$b llava vision tower" '^  hidden_act: quick_gelu$' "$TMPD/out"
  check_ok "$b config --check minicpm llm_config.json" "$b/fc-eval" config --check "$FC_SHARED/data/models/minicpm-v-2_6"
  check_grep "$b minicpm kv heads" '^  num_key_value_heads: 4$' "$TMPD/out"
  check_ok "$b config --keys train" "$b/fc-eval" config --keys train
  check_grep "$b keys list training.lr" '^  training\.lr +number' "$TMPD/out"
  check_error "$b config without a mode" "give one of --check FILE or --keys KIND" "$b/fc-eval" config
  check_error "$b config --keys bogus" "--keys: expected train or eval, got 'bogus'" "$b/fc-eval" config --keys bogus
  check_error "$b config --check missing file" "no-such\.yaml: cannot open" "$b/fc-eval" config --check no-such.yaml
done
# issue 15: 100,000 nested flow sequences (200 KB; 72 s in libyaml before the bound) stop at depth 33, which
# the message names: the load read no further than that (no timer needed). A file over the 1 MiB bound
# is refused before parsing.
{ printf 'kind: train\nepochs: '; head -c 100000 /dev/zero | tr '\0' '['; head -c 100000 /dev/zero | tr '\0' ']'; echo; } >"$TMPD/deep.yaml"
{ echo 'kind: train'; for i in $(seq 40000); do echo "# padding line $i of a config far over the size bound"; done; } >"$TMPD/big.yaml"
for b in "$FC_BIN" "$FC_ASAN_BIN"; do
  check_error "$b issue 15: 100,000-deep flow sequence" "deep\.yaml:2:40: nesting depth 33 is over the limit of 32" \
    "$b/fc-eval" config --check "$TMPD/deep.yaml"
  check_error "$b config over the size bound" "big\.yaml: [0-9]+ bytes is more than the 1048576-byte limit" \
    "$b/fc-eval" config --check "$TMPD/big.yaml"
done
finish
