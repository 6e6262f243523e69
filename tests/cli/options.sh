#!/usr/bin/env bash
# options.sh: the command-line rules of core/base/cli.h hold for every option of every command of both
# CLIs. The commands come from `<prog> --help`, the options from each command's hidden --list-options (its
# option table), so a command or option added later is walked without touching this script:
#   - a single-value option (or flag) given twice fails with "option --X given twice";
#   - a repeatable option given one time more than it allows fails with "given more than N times";
#   - a value option at the end of the line fails with "option --X needs a value";
#   - an unknown option fails naming it; --help lists every option of the table.
. "$(dirname "$0")/lib.sh"

commands_of() { # prog: the command names listed under "commands:" in its --help
  "$1" --help | awk '/^commands:/ {on = 1; next} on && /^$/ {exit} on {print $1}'
}

for b in "$FC_BIN" "$FC_ASAN_BIN"; do
  for prog in fc-eval fc-train; do
    P="$b/$prog"
    cmds=$(commands_of "$P")
    n=$(echo "$cmds" | grep -c .)
    if [ "$n" -ge 2 ]; then pass "$b $prog --help lists $n commands"; else fail "$b $prog --help lists $n commands"; fi
    for c in $cmds; do
      if ! "$P" "$c" --list-options >"$TMPD/opts" 2>"$TMPD/err"; then
        fail "$b $prog $c --list-options: $(head -c 300 "$TMPD/err")"
        continue
      fi
      "$P" "$c" --help >"$TMPD/help" 2>&1
      check_error "$b $prog $c unknown option" "$c: unknown option '--no-such-option'" "$P" "$c" --no-such-option
      while read -r opt kind count max; do
        [ -n "$opt" ] || continue
        if grep -qE -- "^  $opt( |\$)" "$TMPD/help"; then pass "$b $prog $c --help lists $opt"
        else fail "$b $prog $c --help does not list $opt"; fi
        args=()
        if [ "$count" = once ]; then
          if [ "$kind" = value ]; then args=("$opt" x "$opt" y); else args=("$opt" "$opt"); fi
          check_error "$b $prog $c $opt twice" "option $opt given twice" "$P" "$c" "${args[@]}"
        else
          for ((k = 0; k <= max; k++)); do
            if [ "$kind" = value ]; then args+=("$opt" "v$k"); else args+=("$opt"); fi
          done
          check_error "$b $prog $c $opt $((max + 1)) times" "option $opt given more than $max times" "$P" "$c" "${args[@]}"
        fi
        if [ "$kind" = value ]; then
          check_error "$b $prog $c $opt without value" "option $opt needs a value" "$P" "$c" "$opt"
        fi
      done <"$TMPD/opts"
    done
  done
done

# the parser's other rules, on one command
P=$FC_BIN/fc-eval
check_error "flag with a value" "option --print-ids takes no value" "$P" generate --print-ids=1
check_error "--name=value counts as a repeat" "option --model given twice" "$P" generate --model=a --model b
check_error "positional where none is taken" "generate: unexpected argument 'stray'" "$P" generate stray
check_error "second positional" "inspect: unexpected argument 'b'" "$P" inspect a b
# issue 15: logits --image A --image B used B alone; --image is now repeatable (logits_images.sh), and a
# single-value option given twice is refused before anything loads
check_error "issue 15: logits --text twice" "option --text given twice" "$P" logits --model m --text t --text u --image A.jpg --image B.jpg --out o.safetensors
finish
