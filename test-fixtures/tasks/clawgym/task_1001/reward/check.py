"""Grader for task_1001: phone photos filed by date and place, with a manifest."""
import json
import os

WORKSPACE = "/root/.openclaw/workspace"

# new path -> (original name, the text inside the fake JPEG)
EXPECTED = {
    "Photos/2024/04/2024-04-27_0915_lisbon.jpg": ("IMG 0412.jpg", "tram 28 climbing Alfama"),
    "Photos/2024/04/2024-04-27_1840_sintra.jpg": ("IMG 0413.jpg", "Pena palace at sunset, wide"),
    "Photos/2024/04/2024-04-27_1840_sintra_2.jpg": ("IMG 0415.jpg", "close-up of the yellow tower"),
    "Photos/2024/05/2024-05-01_1205_cabo-da-roca.jpg": ("IMG 0420.JPG", "lighthouse at Cabo da Roca"),
    "Photos/2023/12/2023-12-24_2030_grandma-s-house.jpg": ("IMG 0388.jpg", "Christmas Eve dinner"),
    "Photos/unsorted/IMG 0501.jpg": ("IMG 0501.jpg", "blurry pocket shot"),
}


def holds(rel, text):
    try:
        with open(os.path.join(WORKSPACE, rel), encoding="utf-8") as f:
            return text in f.read()
    except (OSError, UnicodeDecodeError):
        return False


def main():
    result = {}
    result["photos_filed"] = round(sum(holds(p, t) for p, (_, t) in EXPECTED.items()) / len(EXPECTED), 4)
    result["same_minute_suffix"] = holds("Photos/2024/04/2024-04-27_1840_sintra.jpg", "wide") and holds(
        "Photos/2024/04/2024-04-27_1840_sintra_2.jpg", "yellow tower")
    roll = os.path.join(WORKSPACE, "Camera Roll")
    left = sorted(os.listdir(roll)) if os.path.isdir(roll) else []
    # the photos are gone from Camera Roll, the log and the hidden Picasa file stay
    result["camera_roll_cleared"] = left == [".picasa.ini", "photo_log.csv"]
    photos = []
    for d, _, names in os.walk(os.path.join(WORKSPACE, "Photos")):
        photos += [os.path.relpath(os.path.join(d, n), WORKSPACE) for n in names]
    result["no_stray_files"] = sorted(p for p in photos if p != "Photos/manifest.json") == sorted(EXPECTED)
    try:
        with open(os.path.join(WORKSPACE, "Photos", "manifest.json"), encoding="utf-8") as f:
            manifest = json.load(f)
        result["manifest_correct"] = manifest == {p: name for p, (name, _) in EXPECTED.items()}
    except (OSError, ValueError):
        result["manifest_correct"] = False
    print(json.dumps(result))


if __name__ == "__main__":
    main()
