"""Grader for task_1005: day-by-day itinerary, weather-aware packing list and a trip index."""
import json
import os
import re

WORKSPACE = "/root/.openclaw/workspace"

DAYS = [
    ("2024-07-05", "Friday", "Porto", "Casa da Ribeira", "AMS 07:10 -> OPO 09:05"),
    ("2024-07-06", "Saturday", "Porto", "Casa da Ribeira", None),
    ("2024-07-07", "Sunday", "Porto", "Casa da Ribeira", None),
    ("2024-07-08", "Monday", "Lisbon", "Alfama Patio Hostel", "Porto Campanha 09:39 -> Lisboa Oriente 12:27"),
    ("2024-07-09", "Tuesday", "Lisbon", "Alfama Patio Hostel", None),
    ("2024-07-10", "Wednesday", "Lisbon", "Alfama Patio Hostel", None),
    ("2024-07-11", "Thursday", "Sintra", "Quinta das Flores", "Lisboa Rossio 09:41 -> Sintra 10:21"),
    ("2024-07-12", "Friday", "Sintra", None, "LIS 18:20 -> AMS 22:05"),
]
PACKING = ["adapter plug", "light jacket", "passport", "phone charger", "reading glasses", "sun hat",
           "sunscreen", "toothbrush", "umbrella"]
CITIES = [
    {"city": "Porto", "hotel": "Casa da Ribeira", "check_in": "2024-07-05", "check_out": "2024-07-08", "nights": 3},
    {"city": "Lisbon", "hotel": "Alfama Patio Hostel", "check_in": "2024-07-08", "check_out": "2024-07-11", "nights": 3},
    {"city": "Sintra", "hotel": "Quinta das Flores", "check_in": "2024-07-11", "check_out": "2024-07-12", "nights": 1},
]


def read(rel):
    try:
        with open(os.path.join(WORKSPACE, rel), encoding="utf-8") as f:
            return f.read()
    except (OSError, UnicodeDecodeError):
        return None


def squash(s):
    return re.sub(r"\s+", " ", s).strip()


def itinerary_scores(text):
    zero = {"itinerary_days": False, "itinerary_sleep": 0.0, "itinerary_travel": 0.0}
    if text is None:
        return zero
    parts = re.split(r"^##[ \t]+", text, flags=re.M)[1:]
    heads = [squash(p.splitlines()[0]) for p in parts]
    if heads != [f"{d} ({w}) - {c}" for d, w, c, _, _ in DAYS]:
        return zero
    sleep = travel = 0
    for part, (_, _, _, hotel, route) in zip(parts, DAYS):
        lines = [squash(line) for line in part.splitlines()[1:]]
        sleeps = [line[len("Sleep:"):].strip() for line in lines if line.startswith("Sleep:")]
        travels = [line for line in lines if line.startswith("Travel:")]
        sleep += sleeps == ([hotel] if hotel else [])
        travel += (len(travels) == 1 and squash(route) in travels[0]) if route else not travels
    return {"itinerary_days": True, "itinerary_sleep": round(sleep / len(DAYS), 4),
            "itinerary_travel": round(travel / len(DAYS), 4)}


def main():
    result = itinerary_scores(read("trip/itinerary.md"))
    packing = read("trip/packing.txt")
    result["packing_list"] = packing is not None and [l.strip() for l in packing.splitlines() if l.strip()] == PACKING
    try:
        index = json.loads(read("trip/index.json") or "")
        result["index_cities"] = index.get("cities") == CITIES
        result["index_totals"] = index.get("total_nights") == 7 and index.get("travel_days") == [
            "2024-07-05", "2024-07-08", "2024-07-11", "2024-07-12"]
    except (ValueError, AttributeError):
        result.update(index_cities=False, index_totals=False)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
