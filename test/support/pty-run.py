"""Runs a command on a new pseudo-terminal, as if typed into an interactive shell.

    python3 pty-run.py COMMAND [ARG...]

Bytes written to this script's stdin are typed into the terminal (the line
discipline echoes them and turns Ctrl-D at the start of a line into end of
input); everything the command writes to the terminal comes out on stdout.
Exits with the command's exit code (128 + N when killed by signal N).
"""
import os
import pty
import select
import sys

pid, master = pty.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])

typing = True
while True:
    ready, _, _ = select.select([master] + ([0] if typing else []), [], [])
    if 0 in ready:
        typed = os.read(0, 4096)
        if typed:
            os.write(master, typed)
        else:
            typing = False
    if master in ready:
        try:
            shown = os.read(master, 65536)
        except OSError:  # EIO: the command and everything it started have closed the terminal
            break
        if not shown:
            break
        os.write(1, shown)

_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status))
