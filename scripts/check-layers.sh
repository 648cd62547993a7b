#!/usr/bin/env bash
# The layering check (docs/architecture.md, "Modules"; docs/cluster.md §2.1): reads the
# #include "..." lines of src/ and fails, naming the file and the include, when a module
# includes a header of a module it may not use. Inside src/cluster/ each subfolder is a part
# of its own (cluster/<part>), with its own rules; the files at the top of src/cluster/ are
# the wiring, the only ones that may include every part; a part's internal.h is private to
# its folder. Outside the cluster module only
# cluster/cluster.h is its face. Also refused: `extern` declarations of functions in .c files
# (C can call a function without including its header; the headers must be the only way in).
#   scripts/check-layers.sh [SRC_DIR]     exit 0 clean, 1 with one line per violation
set -uo pipefail
src=${1:-"$(dirname "$0")/../src"}
# module -> the modules it may include (itself always)
declare -A may=(
    [core]=""
    [net]="core"
    [mqtt]="core"
    [route]="core"
    [config]="core"
    [cwire]="core"
    [store]="core"
    [auth]="core net config"
    [broker]="core net mqtt route config auth store"
    [cluster]="core net mqtt route config cwire auth store broker cluster/discovery cluster/links cluster/data cluster/plane cluster/replica"
    [cluster/discovery]="core net"
    [cluster/links]="core net cwire"
    [cluster/data]="core net mqtt route config cwire store broker cluster/links"
    [cluster/plane]="core net cwire cluster/links"
    [cluster/replica]="core net cwire store cluster/links"
    [admin]="core net mqtt route config cwire auth broker cluster"
    [bench]="core net mqtt"
    [main.c]="core net mqtt route config cwire store auth broker cluster admin bench"
)
# A path's module: its first folder, or cluster/<part> for a file in a part's folder.
module_of() {
    local first=${1%%/*} rest=${1#*/}
    if [ "$first" = cluster ] && [ "${rest%%/*}" != "$rest" ]; then
        echo "cluster/${rest%%/*}"
    else
        echo "$first"
    fi
}
bad=0
while IFS= read -r file; do
    rel=${file#"$src"/}
    mod=$(module_of "$rel")
    [ "$rel" = main.c ] && mod=main.c
    if [ -z "${may[$mod]+x}" ]; then
        echo "$rel: module '$mod' is not in the layer table (scripts/check-layers.sh)"
        bad=1
        continue
    fi
    while IFS=: read -r line inc; do
        [ "${inc%%/*}" = "$inc" ] && continue # a system-style or same-folder header name
        if [ "${inc##*/}" = internal.h ] && [ "$(dirname "$rel")" != "$(dirname "$inc")" ]; then
            echo "$rel:$line: includes \"$inc\": a part's internal.h is private to its folder"
            bad=1
            continue
        fi
        target=$(module_of "$inc")
        [ "$target" = "$mod" ] && continue
        case " ${may[$mod]} " in
        *" $target "*) ;;
        *)
            echo "$rel:$line: includes \"$inc\": $mod may not use $target"
            bad=1
            ;;
        esac
    done < <(grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$file" |
        sed -E 's/^([0-9]+):[[:space:]]*#[[:space:]]*include[[:space:]]*"([^"]+)".*/\1:\2/')
    if [[ $file == *.c ]]; then
        while IFS= read -r hit; do
            echo "$rel:${hit%%:*}: an extern declaration in a .c file: include the header"
            bad=1
        done < <(grep -nE '^[[:space:]]*extern[[:space:]]+[^(;]*\(' "$file")
    fi
done < <(find "$src" -name '*.[ch]' | sort)
if [ "$bad" = 0 ]; then echo "layers: ok"; fi
exit "$bad"
