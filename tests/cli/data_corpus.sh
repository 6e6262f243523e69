#!/usr/bin/env bash
# data_corpus.sh: `fc-eval data` on the dataset corpus (tests/corpus/data, made by tools/make_data_fixtures.py;
# its README says what is wrong with each case, cases.txt holds the expected message) fails with one line naming
# the file, the record and the problem, in the release and the ASan+UBSan build; the good fixtures read.
. "$(dirname "$0")/lib.sh"
C=tests/corpus/data
F=tests/fixtures/data
n_cases=$(grep -c '|' "$C/cases.txt")
n_files=$(ls "$C" | grep -vcE '^(VERSIONS|README\.md|cases\.txt|images)$')
if [ "$n_files" -eq "$n_cases" ]; then pass "every corpus case has an expected message"
else fail "corpus has $n_files cases but cases.txt lists $n_cases"; fi
for b in "$FC_BIN" "$FC_ASAN_BIN"; do
  while IFS='|' read -r name re; do
    case $name in
      gqa_*) fmt=gqa ;;
      mb_*) fmt=milebench ;;
      *) fmt=llava ;;
    esac
    check_error "$b data $name" "^fc-eval: error: $C/.*$re" "$b/fc-eval" data "$C/$name" --format $fmt --images "$C/images"
  done <"$C/cases.txt"
  check_ok "$b data llava fixture --text-only" "$b/fc-eval" data $F/llava.json --images $F/images --text-only
  check_grep "$b llava count" "^$F/llava\.json: 5 records \(llava\), skipped: none$" "$TMPD/out"
  check_ok "$b data llava fixture --lenient" "$b/fc-eval" data $F/llava.json --images $F/images --lenient --records
  check_grep "$b llava lenient count" "^$F/llava\.json: 4 records \(llava\), skipped: 1 no image$" "$TMPD/out"
  check_grep "$b llava lenient first skip" "first skipped: .*record 3 \(id 'text-only-4'\): no image" "$TMPD/out"
  check_error "$b data llava strict" "llava\.json: record 3 \(id 'text-only-4'\): no image" \
    "$b/fc-eval" data $F/llava.json --images $F/images
  check_ok "$b data gqa dict" "$b/fc-eval" data $F/gqa_dict.json --images $F/gqa_images
  check_grep "$b gqa dict count" "3 records \(gqa\), skipped: none" "$TMPD/out"
  check_ok "$b data milebench" "$b/fc-eval" data $F/milebench --records
  check_grep "$b milebench ids" "^CaptionQA/s0	" "$TMPD/out"
  check_error "$b data bad format" "unknown data format 'coco'" "$b/fc-eval" data $F/llava.json --format coco
done
finish
