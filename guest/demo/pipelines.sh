# pipelines.sh: the demo's shell mound -- pipelines, redirections and
# short-lived processes, round after round.
echo pipelines: start
mktempdir T
loop 0
$BIN/hello $I round-$I > $T/round.txt
$BIN/hello --cat a < $T/round.txt | $BIN/hello --cat b | $BIN/hello --cat c > $T/piped.txt
$BIN/hello --cat round-$I < $T/piped.txt
rm $T/round.txt $T/piped.txt
end
