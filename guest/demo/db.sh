# db.sh: the demo's database pager mound -- dbengine's workload (a), a hot
# set looked up between full scans of a larger table, round after round,
# under the `hinted` policy: the scans run in a small ring of frames, so the
# hot set stays resident (hits) while every scan faults the table's pages in
# (the budget is far below the table). A fresh database file each round: a
# file stays attached to its pager after its process exits (a second attach
# of it is EBUSY). Each round ends with the pager's counters (-s).
echo db: start
mktempdir T
loop 0
$BIN/dbengine $T/db$I create 320 > $T/create.txt
$BIN/dbengine -p hinted -b 112 -H -s $T/db$I hotscan 48 256 300 400 > $T/scans.txt
rm $T/db$I
end
