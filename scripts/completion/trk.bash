# bash completion for trk(1). Installed as share/bash-completion/completions/trk; or
# `source scripts/completion/trk.bash` by hand.
#
# The commands and their options are read from `trk help` and `trk help COMMAND` of the trk
# being completed (once per trk and command, then cached), so completion never drifts from
# the help. An option's value is completed by its placeholder in the help: FILE a file, DIR a
# directory, anything else (N, SIZE, TIME, ...) nothing.

declare -gA _trk_cache

# The help of `trk help ARGS`, cached per trk executable.
_trk_help() {
  local trk=$1 topic=$2 key="$1|$2"
  if [[ -z ${_trk_cache[$key]+set} ]]; then
    _trk_cache[$key]=$("$trk" help $topic 2>/dev/null)
  fi
  printf '%s\n' "${_trk_cache[$key]}"
}

# The commands listed under "commands:" in `trk help`.
_trk_commands() {
  _trk_help "$1" "" | awk '/^commands:/ { on = 1; next } /^[^ ]/ { on = 0 } on && /^  [a-z]/ { print $1 }'
}

# "OPTION PLACEHOLDER" lines (placeholder "-" for a flag) for the options in a command's help:
# the item lines ("  --state FILE   the state store"), whose term ends at two spaces.
_trk_options() {
  _trk_help "$1" "$2" | awk '
    /^  +-/ {
      term = $0; sub(/^ +/, "", term); sub(/  .*$/, "", term)
      n = split(term, w, /[ ,]+/)
      for (i = 1; i <= n; i++) {
        if (w[i] !~ /^-/) continue
        arg = (i < n && w[i + 1] !~ /^-/) ? w[i + 1] : "-"
        print w[i], arg
      }
    }'
}

_trk() {
  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
  local trk=${COMP_WORDS[0]}
  COMPREPLY=()
  trk=$(type -P -- "${trk/#\~/$HOME}") || return 0

  if ((COMP_CWORD == 1)); then
    mapfile -t COMPREPLY < <(compgen -W "$(_trk_commands "$trk") -h --help --version" -- "$cur")
    return 0
  fi

  local cmd=${COMP_WORDS[1]} i
  for ((i = 2; i < COMP_CWORD; i++)); do      # after "--", a script's own arguments: files
    if [[ ${COMP_WORDS[i]} == -- ]]; then
      compopt -o filenames 2>/dev/null
      mapfile -t COMPREPLY < <(compgen -f -- "$cur")
      return 0
    fi
  done

  local opts placeholder=
  opts=$(_trk_options "$trk" "$cmd")
  if [[ $prev == -* ]]; then
    # the first placeholder (--data FILE and --data DIR: a file, which a directory is too)
    placeholder=$(awk -v o="$prev" '$1 == o { print $2; exit }' <<<"$opts")
  fi
  if [[ -n $placeholder && $placeholder != - ]]; then
    case $placeholder in
      FILE) compopt -o filenames 2>/dev/null; mapfile -t COMPREPLY < <(compgen -f -- "$cur") ;;
      DIR) compopt -o filenames 2>/dev/null; mapfile -t COMPREPLY < <(compgen -d -- "$cur") ;;
    esac
    return 0
  fi

  if [[ $cur == -* ]]; then
    mapfile -t COMPREPLY < <(compgen -W "$(awk '!seen[$1]++ { print $1 }' <<<"$opts"$'\n-h\n--help')" -- "$cur")
    return 0
  fi

  case $cmd in
    run | journal)                            # journal: a script's store, or a rules directory's
      compopt -o filenames 2>/dev/null
      mapfile -t COMPREPLY < <(compgen -d -- "$cur"; compgen -f -X '!*.lua' -- "$cur") ;;
    rules | init | checkpoints)
      compopt -o filenames 2>/dev/null
      mapfile -t COMPREPLY < <(compgen -d -- "$cur") ;;
    test)
      compopt -o filenames 2>/dev/null
      mapfile -t COMPREPLY < <(compgen -f -- "$cur") ;;
    schema)                                   # schema export FILE
      if ((COMP_CWORD == 2)); then
        mapfile -t COMPREPLY < <(compgen -W "export" -- "$cur")
      else
        compopt -o filenames 2>/dev/null
        mapfile -t COMPREPLY < <(compgen -f -- "$cur")
      fi ;;
    help)
      ((COMP_CWORD == 2)) && mapfile -t COMPREPLY < <(compgen -W "$(_trk_commands "$trk")" -- "$cur") ;;
  esac
  return 0
}

complete -F _trk trk
