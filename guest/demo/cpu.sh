# cpu.sh: the demo's CPU mound -- the CPU benchmark, round after round.
echo cpu: start
loop 0
echo cpu: round $I
$BIN/cpubench 1
end
