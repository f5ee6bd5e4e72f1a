#!/bin/bash
# Descriptions with quotes, '#', backslashes and UTF-8 come back exactly
# through add, list, show and --json, for sites and channels.
. "$(dirname "$0")/lib.sh"

descs=(
	'Nautilus "HQ" # 2nd floor'
	"O'Brien & Co; \\back\\slash"
	'Café Größe — 東京 🖨'
	'# only a comment?'
	'a = b; c = "d";'
	'%n %s $(touch x) `id`'
)
i=0
for d in "${descs[@]}"; do
	i=$((i + 1))
	succeeds "add site $i" -- opt-site add "s$i" "h$i.example" --description "$d"
	succeeds "add channel to site $i" -- opt-channel add "s$i" p --description "$d"
	run opt-channel add "s$i" p2 --description "$d" --json
	is "$(printf '%s' "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["description"])')" \
		"$d" "channel $i: add --json"
	opt-channel remove -q "s$i" 2
	run opt-site show "s$i" -H
	is "$(printf '%s\n' "$out" | sed -n 's/^description\t//p')" "$d" "site $i: show -H"
	run opt-site show "s$i" --json
	is "$(printf '%s' "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["description"])')" \
		"$d" "site $i: show --json parses back to the same text"
	run opt-channel list "s$i" -H
	is "$(printf '%s' "$out" | cut -f6)" "$d" "channel $i: list -H"
	run opt-channel list "s$i" --json
	is "$(printf '%s' "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["description"])')" \
		"$d" "channel $i: list --json"
	run opt-channel list "s$i"
	like "$out" "$(printf '%s' "$d" | sed 's/[][\\.*^$()|+?{}]/\\&/g') +direct +tcp\$" "channel $i: the table shows it"
done
[ ! -e x ] && [ ! -e "$MAST_CONFIG_DIR/x" ]
ok $? "nothing in a description was executed"

run opt-site list --json
is "$(printf '%s' "$out" | python3 -c '
import json, sys
print("\n".join(s["description"] for s in json.load(sys.stdin)))')" \
	"$(printf '%s\n' "${descs[@]}")" "list --json: every description"

run opt-status --json --channels
printf '%s' "$out" | python3 -m json.tool >/dev/null
ok $? "opt-status --json is JSON"

succeeds "set a description with quotes" -- opt-channel set s1 1 'description=say "hi" # now'
run opt-channel list s1 -H
is "$(printf '%s' "$out" | cut -f6)" 'say "hi" # now' "set description round trips"

done_testing
