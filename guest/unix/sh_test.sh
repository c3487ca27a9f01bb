# sh_test.sh: the script for the `sh` guest program, run both as
# `sh sh_test.sh` and as `sh < sh_test.sh`.  Everything it prints must be the
# same on Alpha and x86-64: no pids, no absolute paths of the build.
echo sh_test: start
set GREETING=hello-from-sh
echo "greeting: $GREETING, literal: '$GREETING' ${GREETING}!"
echo 'single quotes keep $GREETING'
echo status of echo: $?

# External programs by path, with arguments, environment and exit status.
$BIN/hello one "two words" three
echo hello exited $?
set SPIN_TEST=set-in-sh
$BIN/hello 7 seven
echo hello exited $?
unset SPIN_TEST
$BIN/hello; echo after a semicolon: $?

# Redirections in a private temporary directory.
mktempdir T
echo first line > $T/out.txt
echo second line >> $T/out.txt
$BIN/hello --cat file < $T/out.txt
$BIN/hello 3 to-a-file > $T/hello.txt
echo redirected hello exited $?
$BIN/hello --cat saved < $T/hello.txt
/nonexistent/program 2> $T/err.txt
echo missing program exited $?
$BIN/hello --cat stderr < $T/err.txt
nosuchcommand 2>&1
echo unknown command exited $?

# Pipelines: builtins and programs, several stages, status of the last.
echo piped through | $BIN/hello --cat A | $BIN/hello --cat B
$BIN/hello 5 x | $BIN/hello --cat C
echo pipeline exited $?
$BIN/hello --cat D < $T/out.txt | $BIN/hello 9 last-stage
echo pipeline exited $?

# The shell itself in a pipeline, reading its script from the pipe, and -c.
echo 'echo nested shell running; $BIN/hello nested; exit 4' | $BIN/sh | $BIN/hello --cat nested
echo nested shell pipeline exited $?
echo 'exit 6' | $BIN/sh
echo nested shell exited $?
$BIN/sh -c echo from -c ';' exit 2
echo sh -c exited $?

# Programs that die by a signal: 128 + the signal number.
$BIN/segv > $T/segv.txt
echo segv exited $?
$BIN/divzero > $T/divzero.txt
echo divzero exited $?
$BIN/hello --cat segv < $T/segv.txt

# A file-heavy program run from the shell, its output captured.
$BIN/files > $T/files.txt
echo files exited $?

# cd and pwd.
cd $T
pwd > where.txt
rm where.txt
cd /
pwd
cd /nonexistent-dir
echo cd to a missing directory exited $?

rm $T/out.txt $T/hello.txt $T/err.txt $T/segv.txt $T/divzero.txt $T/files.txt
rmdir $T
# loop blocks: N rounds with $I, nested.
loop 2
echo outer round $I
loop 3
echo "  inner $I"
end
end
echo after loops: $?
echo sh_test: done
exit 0
echo not reached

