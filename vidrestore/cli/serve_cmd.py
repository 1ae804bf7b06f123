"""``vidrestore serve [--root DIR]... [--host 127.0.0.1] [--port 8765] [--token TOKEN]``: the web app."""

from __future__ import annotations

import argparse
import os


def add_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "serve", parents=[common], help="local web app: preview settings, run, watch and resume jobs",
        description="Serve a web app to browse the files under --root, try a preset on a few frames (before/after, "
                    "masks, two settings side by side), then run it as a resumable job with live progress. Files "
                    "are read and written only under the roots; jobs, previews and logs live in --state-dir. "
                    "Needs the web extra: pip install 'vidrestore[web]'.")
    p.add_argument("--root", dest="roots", action="append", default=[], metavar="DIR",
                   help="a folder the app may read and write (repeatable; default: the current folder)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only; "
                                                         "any other needs --token)")
    p.add_argument("--port", type=int, default=8765, help="port (default 8765)")
    p.add_argument("--token", default=os.environ.get("VIDRESTORE_TOKEN"), metavar="TOKEN",
                   help="secret every request must carry (header, cookie or ?token= once); "
                        "default $VIDRESTORE_TOKEN")
    p.add_argument("--state-dir", metavar="DIR", help="jobs, previews and logs "
                                                      "(default $XDG_STATE_HOME/vidrestore/serve)")
    p.add_argument("--jobs", type=int, default=1, metavar="N", help="jobs run at once (default 1; others wait)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from vidrestore.web.server import serve

    serve(roots=args.roots, host=args.host, port=args.port, token=args.token, state_dir=args.state_dir,
          max_running=args.jobs, quiet=args.quiet)
    return 0
