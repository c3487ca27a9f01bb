# db.sh: the demo's database pager mound -- dbengine's workload (a), a hot
# set looked up between full scans of a larger table, in long rounds, under
# the `hinted` policy: the scans run in a small ring of frames, so the hot
# set stays resident (hits) while every scan faults the table's pages in
# (the manifest's pager_budget is far below the table). A policy switched
# from the dashboard (R) holds for the rounds after it too. A fresh database
# file each round, so every round starts cold. Each round ends with the
# pager's counters.
echo db: start
mktempdir T
loop 0
echo db: round $I
$BIN/dbengine $T/db$I create 320 > $T/create.txt
$BIN/dbengine -p hinted -H -s $T/db$I hotscan 48 256 6000 400 > $T/scans.txt
rm $T/db$I
end
