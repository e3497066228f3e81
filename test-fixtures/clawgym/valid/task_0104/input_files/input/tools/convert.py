"""Convert a plate-reader export (tab separated, one block per plate) into a tidy CSV."""
import argparse
import csv
import sys


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("export", help="the instrument export file")
    p.add_argument("--out", default="tidy.csv", help="where to write the CSV")
    p.add_argument("--blank", type=float, default=0.0, help="value subtracted from every reading")
    p.add_argument("--wells", default="A1-H12", help="range of wells to keep")
    args = p.parse_args()
    rows = []
    with open(args.export) as f:
        for line in f:
            well, value = line.rstrip("\n").split("\t")[:2]
            rows.append((well, float(value) - args.blank))
    with open(args.out, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["well", "value"])
        w.writerows(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
