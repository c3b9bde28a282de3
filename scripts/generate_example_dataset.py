#!/usr/bin/env python3
"""Write the synthetic example cohort (see studyrec_lib/example_data.py for how it is built).

final_marks = a linear function of midterm, quiz, assignment, attendance, previous CGPA and subject
difficulty + Gaussian noise with standard deviation 4.0 marks (FINAL_MARKS_NOISE_SD): no model can
reach an RMSE below about 4.0 on this data.

    python scripts/generate_example_dataset.py --students 120 --output data/example/students.csv
"""

from __future__ import annotations

import argparse

from studyrec_lib import example_data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=120, help="number of students (24 rows each)")
    parser.add_argument("--output", required=True, help="CSV or XLSX file to write")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--format", choices=("csv", "xlsx"), default=None, help="default: from the file name")
    parser.add_argument("--open-semesters", type=int, default=0,
                        help="leave final marks and grade empty in the last N semesters (not over yet)")
    args = parser.parse_args()
    frame = example_data.generate(args.students, seed=args.seed, open_semesters=args.open_semesters)
    path = example_data.write(frame, args.output, args.format)
    print(f"wrote {len(frame):,} rows to {path} (final_marks noise sd {example_data.FINAL_MARKS_NOISE_SD})")


if __name__ == "__main__":
    main()
