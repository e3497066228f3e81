#!/usr/bin/env bash
# Reference solution for task_1005 (run by the oracle agent with cwd = workspace root).
set -euo pipefail
python3 - <<'PY'
import datetime as dt, json, re

hotels, travel = [], {}
with open("trip/bookings.txt") as f:
    for line in f:
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        kind, rest = line.split(None, 1)
        if kind == "HOTEL":
            m = re.match(r"(\S+)\s+(\S+) to (\S+)\s+(.+)$", rest)
            hotels.append({"city": m.group(1), "hotel": m.group(4), "check_in": m.group(2), "check_out": m.group(3)})
        else:
            date, route = rest.split(None, 1)
            travel.setdefault(date, []).append(re.sub(r"\s+", " ", route))

day = dt.date.fromisoformat(hotels[0]["check_in"])
last = dt.date.fromisoformat(hotels[-1]["check_out"])
out = ["# Portugal, July 2024", ""]
while day <= last:
    iso = day.isoformat()
    stay = next((h for h in hotels if h["check_in"] <= iso < h["check_out"]), None)
    city = stay["city"] if stay else hotels[-1]["city"]
    out.append(f"## {iso} ({day.strftime('%A')}) - {city}")
    if stay:
        out.append(f"Sleep: {stay['hotel']}")
    out += [f"Travel: {r}" for r in travel.get(iso, [])]
    out.append("")
    day += dt.timedelta(days=1)
with open("trip/itinerary.md", "w") as f:
    f.write("\n".join(out))

with open("trip/packing-base.txt") as f:
    items = {l.strip().lower() for l in f if l.strip() and not l.strip().startswith("#")}
with open("trip/forecast.json") as f:
    days = json.load(f)["days"]
if any(d["rain_mm"] > 0 for d in days):
    items.add("umbrella")
if any(d["max_c"] >= 30 for d in days):
    items |= {"sun hat", "sunscreen"}
if any(d["min_c"] <= 12 for d in days):
    items.add("light jacket")
with open("trip/packing.txt", "w") as f:
    f.write("".join(i + "\n" for i in sorted(items)))

for h in hotels:
    h["nights"] = (dt.date.fromisoformat(h["check_out"]) - dt.date.fromisoformat(h["check_in"])).days
with open("trip/index.json", "w") as f:
    json.dump({"cities": hotels, "total_nights": sum(h["nights"] for h in hotels),
               "travel_days": sorted(travel)}, f, indent=2)
PY
