#!/usr/bin/env bash
# The include graph follows the library layers (README "How it fits together"): a file may include headers
# of its own folder and of folders in a lower layer, never of a higher layer or of another folder in the
# same layer. Inside rewards/, the rule interface (rule.h, batch_rule.h) includes no rule. Prints every
# offending include and exits 1 if there is one. Run from anywhere; ctest runs it as "layers: ...".
set -euo pipefail
cd "$(dirname "$0")/.."
declare -A layer=([common]=0 [datasets]=1 [rewards]=1 [kernels]=1 [runlog]=1 [policy]=2 [rollout]=3 [eval]=4
                  [grpo]=5 [pretrain]=6 [cli]=7)
bad=0
for folder in "${!layer[@]}"; do
  while IFS=: read -r file _ target; do
    to=${target%%/*}
    [[ -v layer[$to] ]] || continue
    if [[ $to != "$folder" && ${layer[$to]} -ge ${layer[$folder]} ]]; then
      echo "$file includes $target: $folder (layer ${layer[$folder]}) may not depend on $to (layer ${layer[$to]})"
      bad=1
    fi
  done < <(grep -rHoE '^#include "[a-z_]+/[^"]+"' "$folder" --include='*.h' --include='*.cpp' --include='*.cu' |
           sed -E 's/#include "([^"]+)"/\1/' | sed -E 's/^([^:]+):/\1::/')
done
for interface in rewards/rule.h rewards/batch_rule.h; do
  if grep -E '^#include "rewards/' "$interface" | grep -qvE '"rewards/(rule|batch_rule)\.h"'; then
    echo "$interface includes a rewards header: the rule interface must include no rule"
    bad=1
  fi
done
[[ $bad == 0 ]] && echo "layers: every include points down"
exit $bad
