"""Run a command and print its own peak RSS (children included) as PEAK_RSS_BYTES=N on stderr."""

import resource
import subprocess
import sys

if __name__ == "__main__":
    args = sys.argv[1:]
    if args and args[0] == "--":
        args = args[1:]
    rc = subprocess.call(args)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    print(f"PEAK_RSS_BYTES={peak}", file=sys.stderr)
    sys.exit(rc)
