# desc: no fragmentation: the THP faulter alone (no fragml policy may do worse than the kernel default here)
scenario_start() {
	return 0
}
