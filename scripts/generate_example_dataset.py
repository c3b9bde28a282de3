#!/usr/bin/env python3
"""Write the synthetic example cohort (see studyrec_lib/demo/example.py for how it is built).

final_marks = a linear function of midterm, quiz, assignment, attendance, previous CGPA and subject
difficulty + Gaussian noise with standard deviation 4.0 marks (FINAL_MARKS_NOISE_SD): no model can
reach an RMSE below about 4.0 on this data.

    python scripts/generate_example_dataset.py --students 120 --output data/example/students.csv

Shifted data for drift demonstrations (values stay within the ingest ranges; grades follow the totals):

    python scripts/generate_example_dataset.py --students 40 --seed 11 --output shifted.csv \
        --shift attendance_percentage=-0.5 --scale quiz_marks=0.8 --new-subject Robotics --new-subject-share 0.2
"""

from __future__ import annotations

import argparse

from studyrec_lib import demo


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=120, help="number of students (24 rows each)")
    parser.add_argument("--output", required=True, help="CSV or XLSX file to write")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--format", choices=("csv", "xlsx"), default=None, help="default: from the file name")
    parser.add_argument("--open-semesters", type=int, default=0,
                        help="leave final marks and grade empty in the last N semesters (not over yet)")
    parser.add_argument("--shift", action="append", metavar="FIELD=SD",
                        help="move a feature by SD of its standard deviations (repeatable)")
    parser.add_argument("--scale", action="append", metavar="FIELD=FACTOR", help="multiply a feature (repeatable)")
    parser.add_argument("--new-subject", help="a subject the models never saw, given to a share of rows")
    parser.add_argument("--new-subject-share", type=float, default=0.2)
    args = parser.parse_args()
    frame = demo.generate(args.students, seed=args.seed, open_semesters=args.open_semesters)
    try:
        shifts, scales = demo.parse_assignments(args.shift, "--shift"), demo.parse_assignments(args.scale, "--scale")
    except ValueError as error:
        parser.error(str(error))
    if shifts or scales or args.new_subject:
        frame = demo.shift_frame(frame, shifts, scales, args.new_subject, args.new_subject_share, seed=args.seed)
    path = demo.write(frame, args.output, args.format)
    print(f"wrote {len(frame):,} rows to {path} (final_marks noise sd {demo.FINAL_MARKS_NOISE_SD})")


if __name__ == "__main__":
    main()
