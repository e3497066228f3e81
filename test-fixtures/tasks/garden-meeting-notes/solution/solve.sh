#!/usr/bin/env bash
set -euo pipefail
mkdir -p garden
python3 - <<'PY'
import json, os, re

notes = []
for name in sorted(os.listdir("notes")):
    with open(os.path.join("notes", name), encoding="utf-8") as f:
        text = f.read()
    notes.append({
        "file": f"notes/{name}",
        "title": re.search(r"^# (.+)$", text, re.M).group(1).strip(),
        "date": re.search(r"^Date: (\S+)", text, re.M).group(1),
        "decisions": re.findall(r"^Decision: (.+?)\s*$", text, re.M),
        "actions": re.findall(r"^Action: (\S+) - (.+) \(due (\S+)\)\s*$", text, re.M),
        "done": re.findall(r"^Done: (\S+) - (.+?)\s*$", text, re.M),
    })
notes.sort(key=lambda n: n["date"])

done = {(o, t) for n in notes for o, t in n["done"]}
open_actions = [(due, owner, task, n["date"]) for n in notes for owner, task, due in n["actions"] if (owner, task) not in done]
open_actions.sort(key=lambda a: (a[0], a[1]))
with open("garden/plan.md", "w") as f:
    f.write("# Open actions\n\n| Due | Owner | Task | Meeting |\n| --- | --- | --- | --- |\n")
    for row in open_actions:
        f.write("| " + " | ".join(row) + " |\n")

with open("garden/summary.md", "w") as f:
    f.write("# Meeting summaries\n")
    for n in notes:
        f.write(f"\n## {n['date']} {n['title']}\n\n")
        f.writelines(f"- {d}\n" for d in n["decisions"])

index = [{"file": n["file"], "date": n["date"], "title": n["title"], "actions": len(n["actions"]),
          "decisions": len(n["decisions"]), "closed": len(n["done"])} for n in notes]
with open("garden/index.json", "w") as f:
    json.dump(index, f, indent=2)
PY
