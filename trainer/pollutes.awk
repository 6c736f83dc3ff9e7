# The "pollutes" label, defined in one place (docs/dataset.md, "pollutes"): a
# non-movable page (requested migratetype unmovable or reclaimable) taken from
# a movable pageblock (block_mt 1) by a fallback that did not claim the block
# (change_owner not 1), and still allocated T after its allocation (label 1
# of the lifetime hook).  When the collector writes a column named
# POLLUTES_COL, that column is used instead: change the name here only.
# Use: awk -F, -f trainer/pollutes.awk -f SCRIPT; SCRIPT calls
# pollutes_header() on line 1 (PCOL[name] = column then) and pollutes() on
# the others (lifetime rows only).
BEGIN { POLLUTES_COL = "pollutes" }
function pollutes_header(	i) {
	for (i = 1; i <= NF; i++)
		PCOL[$i] = i
}
function pollutes() {
	if (!(POLLUTES_COL in PCOL) && !("block_mt" in PCOL && "migratetype" in PCOL && "label" in PCOL)) {
		print "pollutes.awk: neither a " POLLUTES_COL " column nor migratetype, block_mt and label" > "/dev/stderr"
		exit 2
	}
	if (POLLUTES_COL in PCOL)
		return $PCOL[POLLUTES_COL] + 0 > 0
	return $PCOL["migratetype"] != "" && $PCOL["migratetype"] != 1 && $PCOL["block_mt"] == 1 &&
	       $PCOL["change_owner"] != 1 && $PCOL["label"] + 0 >= 1
}
