"""Grader for task_1003: cleaned weather-station readings, daily stats and a problem count."""
import csv
import json
import os

WORKSPACE = "/root/.openclaw/workspace"

CLEAN = [
    ("2024-05-01T06:00", 9.8, 81, 1012.4),
    ("2024-05-01T12:00", 17.2, 55, 1011.9),
    ("2024-05-01T18:00", 15.6, 62, 1011.2),
    ("2024-05-02T06:30", 8.4, 87, 1009.8),
    ("2024-05-02T12:05", 16.3, 58, 1009.0),
    ("2024-05-03T06:00", 7.5, 90, 1010.3),
    ("2024-05-03T12:10", 19.1, 50, 1011.1),
    ("2024-05-03T18:05", 16.8, 57, 1011.6),
]
DAILY = [
    ("2024-05-01", 9.8, 17.2, 66.0),
    ("2024-05-02", 8.4, 16.3, 72.5),
    ("2024-05-03", 7.5, 19.1, 65.7),
]
PROBLEMS = {"bad_field_count": 2, "not_a_number": 2, "out_of_range": 2, "duplicate_timestamp": 1}


def read_csv(rel):
    try:
        with open(os.path.join(WORKSPACE, rel), newline="", encoding="utf-8") as f:
            return list(csv.reader(f))
    except (OSError, UnicodeDecodeError, csv.Error):
        return None


def same_rows(got, want):
    """Rows equal field by field: the first as text, the rest as numbers (within rounding)."""
    if got is None or len(got) != len(want):
        return False
    try:
        return all(
            len(g) == len(w) and g[0] == w[0] and all(abs(float(a) - b) < 0.051 for a, b in zip(g[1:], w[1:]))
            for g, w in zip(got, want)
        )
    except ValueError:
        return False


def main():
    result = {}
    clean = read_csv("station/clean.csv")
    result["clean_header"] = bool(clean) and clean[0] == ["timestamp", "temp_c", "humidity", "pressure_hpa"]
    result["clean_rows"] = bool(clean) and same_rows(clean[1:], CLEAN)
    daily = read_csv("station/daily.csv")
    result["daily_header"] = bool(daily) and daily[0] == ["date", "min_temp", "max_temp", "mean_humidity"]
    result["daily_values"] = bool(daily) and same_rows(daily[1:], DAILY)
    try:
        with open(os.path.join(WORKSPACE, "station", "problems.json")) as f:
            result["problem_counts"] = json.load(f) == PROBLEMS
    except (OSError, ValueError):
        result["problem_counts"] = False
    print(json.dumps(result))


if __name__ == "__main__":
    main()
