// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Seeded workload pieces and cheap probes for the evaluation runner
 * (selftests/eval/eval-guest.sh).  Every fragmenter runs until killed; the
 * runner bounds it by time.  All randomness comes from the SEED argument.
 *
 *   evalwork pipes N SEED READY         unmovable scatter: N pipes holding one
 *       page each, a seeded 1 in 8 kept open, then one kept pipe replaced
 *       every 20 ms
 *   evalwork sockets N BYTES SEED READY  N loopback TCP connections, each
 *       holding up to BYTES unread in its socket buffers; a seeded 1 in 3
 *       kept, then one replaced every 50 ms
 *   evalwork kv PORT SEED KEYS MAXVAL [MINVAL]  key churn against a redis
 *       server: pipelined SET of values of MINVAL (default 64)..MAXVAL bytes
 *       (log-uniform) and DEL over KEYS keys, 64 commands per batch, at most
 *       10 batches a second (a client's churn, not a CPU hog: under TCG an
 *       unpaced client starves everything else in the guest)
 *   evalwork files DIR SEED             file-tree churn: files of 0..64 KiB in
 *       256 directories under DIR (tmpfs), random creates and deletes
 *   evalwork fault MB SEED OUTFILE [RECORD [REPLAY]]  a MADV_HUGEPAGE
 *       faulter: 8 MiB chunks, every 4 KiB page written, up to MB MiB, then a
 *       random chunk replaced each round; on SIGTERM writes "regions N\nhuge N\n"
 *       to OUTFILE (2 MB regions faulted, and how many were backed by a huge
 *       page).  RECORD (unless "-"): the outcome of every region in fault
 *       order, one '1' (huge) or '0' per region.  REPLAY: such a record from
 *       an earlier run of the same seed; the i-th region is advised
 *       MADV_NOHUGEPAGE (the THP fault declined: base pages at once, no
 *       compaction) where the record has '0', MADV_HUGEPAGE elsewhere and
 *       past its end
 *   evalwork lo                         bring the loopback interface up
 *   evalwork extfrag TRACEFILE          count distinct pageblocks polluted by
 *       mm_page_alloc_extfrag events (fragmenting=1, change_ownership=0), and
 *       those any non-movable fallback took pages from
 *   evalwork pageblocks                 /proc/kpageflags per pageblock: blocks
 *       holding both movable (LRU/anon) and slab/page-table pages
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define HUGE_SZ (2UL << 20)
#define CHUNK (8UL << 20)

static uint64_t rng;

static uint64_t rnd(void)	/* splitmix64 */
{
	uint64_t z = (rng += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void seed(const char *s)
{
	rng = strtoull(s, NULL, 0) * 7919 + 1;
}

static void ready(const char *path)
{
	FILE *f = fopen(path, "w");

	if (f)
		fclose(f);
}

static void nap_ms(long ms)
{
	struct timespec t = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&t, NULL);
}

static void raise_nofile(long n)
{
	struct rlimit rl = { (rlim_t)n, (rlim_t)n };

	if (setrlimit(RLIMIT_NOFILE, &rl))
		perror("evalwork: RLIMIT_NOFILE");
}

static int one_pipe(int fd[2])
{
	static char page[4096];

	page[0] = 0x5a;
	if (pipe(fd))
		return -1;
	if (write(fd[1], page, sizeof(page)) != sizeof(page)) {
		close(fd[0]);
		close(fd[1]);
		return -1;
	}
	return 0;
}

static int pipes(int n, const char *ready_path)
{
	int (*fds)[2];
	int kept = 0;

	fds = calloc(n, sizeof(*fds));

	raise_nofile(2L * n + 1024);
	if (!fds)
		return 1;
	for (int i = 0; i < n; i++)
		if (one_pipe(fds[i])) {
			fprintf(stderr, "evalwork: pipe %d: %s\n", i, strerror(errno));
			n = i;
			break;
		}
	for (int i = 0; i < n; i++) {
		if (rnd() % 8) {
			close(fds[i][0]);
			close(fds[i][1]);
		} else {
			fds[kept][0] = fds[i][0];
			fds[kept][1] = fds[i][1];
			kept++;
		}
	}
	ready(ready_path);
	for (;;) {
		int i;

		nap_ms(20);
		if (!kept)
			continue;
		i = rnd() % kept;
		close(fds[i][0]);
		close(fds[i][1]);
		if (one_pipe(fds[i]))
			fds[i][0] = fds[i][1] = open("/dev/null", O_RDONLY);
	}
}

static int listener(uint16_t *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int s = socket(AF_INET, SOCK_STREAM, 0);

	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) || listen(s, 4096) ||
	    getsockname(s, (struct sockaddr *)&a, &len)) {
		perror("evalwork: listen on 127.0.0.1");
		exit(1);
	}
	*port = a.sin_port;
	return s;
}

/* One connected pair; the client writes up to BYTES the server never reads. */
static int conn_pair(int ls, uint16_t port, long bytes, int out[2])
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = port,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int buf = (int)bytes, c, s;
	static char data[65536];
	long want, done = 0;

	c = socket(AF_INET, SOCK_STREAM, 0);
	if (c < 0)
		return -1;
	setsockopt(c, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
	if (connect(c, (struct sockaddr *)&a, sizeof(a))) {
		close(c);
		return -1;
	}
	s = accept(ls, NULL, NULL);
	if (s < 0) {
		close(c);
		return -1;
	}
	setsockopt(s, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	fcntl(c, F_SETFL, O_NONBLOCK);
	want = bytes / 4 + (long)(rnd() % (uint64_t)(bytes - bytes / 4 + 1));
	while (done < want) {
		size_t n = (size_t)(want - done) < sizeof(data) ? (size_t)(want - done) : sizeof(data);
		ssize_t w = write(c, data, n);

		if (w <= 0)
			break;
		done += w;
	}
	out[0] = c;
	out[1] = s;
	return 0;
}

static int sockets(int n, long bytes, const char *ready_path)
{
	int (*fds)[2] = calloc(n, sizeof(*fds));
	int kept = 0, ls;
	uint16_t port;

	raise_nofile(2L * n + 1024);
	if (!fds || bytes < 4096)
		return 1;
	ls = listener(&port);
	for (int i = 0; i < n; i++) {
		if (conn_pair(ls, port, bytes, fds[kept])) {
			fprintf(stderr, "evalwork: connection %d: %s\n", i, strerror(errno));
			break;
		}
		if (rnd() % 3) {
			close(fds[kept][0]);
			close(fds[kept][1]);
		} else {
			kept++;
		}
	}
	ready(ready_path);
	for (;;) {
		int i;

		nap_ms(50);
		if (!kept)
			continue;
		i = rnd() % kept;
		close(fds[i][0]);
		close(fds[i][1]);
		if (conn_pair(ls, port, bytes, fds[i]))
			fds[i][0] = fds[i][1] = open("/dev/null", O_RDONLY);
	}
}

static int kv(int port, long keys, long maxval, long minval)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	char *val = malloc(maxval + 1), *out = malloc(64 * (maxval + 128)), rbuf[65536];
	int s = -1;

	if (!val || !out || keys < 1 || minval < 1 || maxval < minval) {
		fprintf(stderr, "evalwork: kv: need KEYS >= 1 and 1 <= MINVAL <= MAXVAL\n");
		return 1;
	}
	memset(val, 'v', maxval);
	for (int tries = 0; tries < 200; tries++) {
		s = socket(AF_INET, SOCK_STREAM, 0);
		if (!connect(s, (struct sockaddr *)&a, sizeof(a)))
			break;
		close(s);
		s = -1;
		nap_ms(100);
	}
	if (s < 0) {
		fprintf(stderr, "evalwork: kv: no server on port %d\n", port);
		return 1;
	}
	for (;;) {
		size_t len = 0;
		long replies = 0;

		for (int i = 0; i < 64; i++) {
			long k = (long)(rnd() % (uint64_t)keys);
			char key[32];
			int kl = snprintf(key, sizeof(key), "key:%ld", k);

			if (rnd() % 10 < 7) {
				/* log-uniform size between minval and maxval */
				double f = (double)(rnd() % 1000) / 1000.0;
				long sz = (long)((double)minval * pow((double)maxval / (double)minval, f));

				len += sprintf(out + len, "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%ld\r\n", kl, key, sz);
				memcpy(out + len, val, sz);
				len += sz;
				len += sprintf(out + len, "\r\n");
			} else {
				len += sprintf(out + len, "*2\r\n$3\r\nDEL\r\n$%d\r\n%s\r\n", kl, key);
			}
		}
		for (size_t off = 0; off < len;) {
			ssize_t w = write(s, out + off, len - off);

			if (w <= 0) {
				perror("evalwork: kv write");
				return 1;
			}
			off += w;
		}
		nap_ms(100);
		/* every reply is one line (+OK, :n or -ERR) */
		while (replies < 64) {
			ssize_t r = read(s, rbuf, sizeof(rbuf));

			if (r <= 0) {
				perror("evalwork: kv read");
				return 1;
			}
			for (ssize_t i = 0; i < r; i++)
				replies += rbuf[i] == '\n';
		}
	}
}

static int files(const char *dir)
{
	static char data[65536];
	char path[4096];

	for (int d = 0; d < 256; d++) {
		snprintf(path, sizeof(path), "%s/d%03d", dir, d);
		mkdir(path, 0755);
	}
	for (;;) {
		int d = rnd() % 256, f = rnd() % 512;

		snprintf(path, sizeof(path), "%s/d%03d/f%03d", dir, d, f);
		if (rnd() % 3 == 0) {
			unlink(path);
		} else {
			int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
			size_t sz = rnd() % sizeof(data);

			if (fd >= 0) {
				if (write(fd, data, sz) < 0)
					nap_ms(10);
				close(fd);
			}
		}
	}
	return 0;
}

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

/* Is the 2 MB region at p backed by a huge page?  pagemap -> pfn -> kpageflags. */
static int region_huge(int pm, int kf, char *p)
{
	uint64_t e, flags;

	if (pread(pm, &e, 8, (off_t)((uintptr_t)p / 4096) * 8) != 8 || !(e & (1ULL << 63)))
		return 0;
	e &= (1ULL << 55) - 1;
	if (pread(kf, &flags, 8, (off_t)e * 8) != 8)
		return 0;
	return (flags >> 22) & 1;	/* KPF_THP */
}

/* A replay plan: the '0'/'1' outcome of each region in fault order. */
static char *read_plan(const char *path, long *len)
{
	FILE *f = fopen(path, "r");
	long cap = 1 << 16, n = 0;
	char *plan = malloc(cap);
	int c;

	if (!f || !plan) {
		fprintf(stderr, "evalwork: replay %s: %s\n", path, strerror(errno));
		exit(1);
	}
	while ((c = fgetc(f)) != EOF) {
		if (c != '0' && c != '1')
			continue;
		if (n == cap && !(plan = realloc(plan, cap *= 2)))
			exit(1);
		plan[n++] = (char)c;
	}
	fclose(f);
	*len = n;
	return plan;
}

static int fault(long mb, const char *outfile, const char *record, const char *replay)
{
	long nchunks = mb * (1L << 20) / (long)CHUNK, live = 0, nplan = 0, declined = 0;
	char **chunk = calloc(nchunks ? nchunks : 1, sizeof(*chunk));
	long regions = 0, huge = 0;
	int pm = open("/proc/self/pagemap", O_RDONLY), kf = open("/proc/kpageflags", O_RDONLY);
	struct sigaction sa = { .sa_handler = on_term };
	char *plan = replay ? read_plan(replay, &nplan) : NULL;
	FILE *f, *rec = NULL;

	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	if (!chunk || nchunks < 1)
		return 1;
	if (record && strcmp(record, "-") && !(rec = fopen(record, "w"))) {
		fprintf(stderr, "evalwork: record %s: %s\n", record, strerror(errno));
		return 1;
	}
	while (!stop) {
		long slot = live < nchunks ? live++ : (long)(rnd() % (uint64_t)nchunks);
		char *raw, *p;

		if (chunk[slot])
			munmap(chunk[slot], CHUNK + HUGE_SZ);
		raw = mmap(NULL, CHUNK + HUGE_SZ, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		chunk[slot] = raw == MAP_FAILED ? NULL : raw;
		if (!chunk[slot]) {
			nap_ms(100);
			continue;
		}
		p = (char *)(((uintptr_t)raw + HUGE_SZ - 1) & ~(HUGE_SZ - 1));
		madvise(p, CHUNK, MADV_HUGEPAGE);
		for (size_t off = 0; plan && off < CHUNK; off += HUGE_SZ) {
			long r = regions + (long)(off / HUGE_SZ);

			if (r < nplan && plan[r] == '0') {
				madvise(p + off, HUGE_SZ, MADV_NOHUGEPAGE);
				declined++;
			}
		}
		for (size_t off = 0; off < CHUNK && !stop; off += 4096)
			p[off] = 1;
		for (size_t off = 0; off < CHUNK && !stop; off += HUGE_SZ) {
			int h = region_huge(pm, kf, p + off);

			regions++;
			huge += h;
			if (rec)
				fputc('0' + h, rec);
		}
	}
	if (rec && fclose(rec))
		return 1;
	f = fopen(outfile, "w");
	if (!f)
		return 1;
	fprintf(f, "faulter_regions %ld\nfaulter_huge %ld\n", regions, huge);
	if (plan)
		fprintf(f, "oracle_plan_regions %ld\noracle_declined %ld\n", nplan, declined);
	return fclose(f) ? 1 : 0;
}

static int lo_up(void)
{
	struct ifreq ifr = { 0 };
	int s = socket(AF_INET, SOCK_DGRAM, 0);

	strcpy(ifr.ifr_name, "lo");
	if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr)) {
		perror("evalwork: lo");
		return 1;
	}
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	if (ioctl(s, SIOCSIFFLAGS, &ifr)) {
		perror("evalwork: lo up");
		return 1;
	}
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

struct blocks {
	size_t n, cap;
	uint64_t *v;
};

static int blocks_add(struct blocks *b, uint64_t block)
{
	if (b->n == b->cap) {
		uint64_t *v = realloc(b->v, (b->cap = b->cap ? 2 * b->cap : 4096) * sizeof(*v));

		if (!v)
			return -1;
		b->v = v;
	}
	b->v[b->n++] = block;
	return 0;
}

static size_t blocks_distinct(struct blocks *b)
{
	size_t distinct = 0;

	qsort(b->v, b->n, sizeof(*b->v), cmp_u64);
	for (size_t i = 0; i < b->n; i++)
		distinct += !i || b->v[i] != b->v[i - 1];
	return distinct;
}

/*
 * Lines of the text trace: "... pfn=0x1234 ... alloc_migratetype=0 ...
 * fragmenting=1 change_ownership=0".  Polluting: a fragmenting fallback that
 * left the block its type.  Non-movable: any fallback of an unmovable or
 * reclaimable allocation, claimed or not: the pageblocks that received such
 * pages by fallback, which placement tries to keep few.
 */
static int extfrag(const char *path)
{
	FILE *f = fopen(path, "r");
	struct blocks pol = { 0 }, nonmov = { 0 };
	char line[1024];

	if (!f) {
		fprintf(stderr, "evalwork: %s: %s\n", path, strerror(errno));
		return 1;
	}
	while (fgets(line, sizeof(line), f)) {
		char *p = strstr(line, "pfn="), *mt = strstr(line, "alloc_migratetype=");
		uint64_t block;

		if (!p)
			continue;
		block = strtoull(p + 4, NULL, 0) >> 9;
		if (mt && atoi(mt + strlen("alloc_migratetype=")) != 1 && blocks_add(&nonmov, block))
			return 1;
		if (strstr(line, "fragmenting=1") && strstr(line, "change_ownership=0") &&
		    blocks_add(&pol, block))
			return 1;
	}
	fclose(f);
	printf("extfrag_polluting_events %zu\nextfrag_polluted_blocks %zu\n", pol.n,
	       blocks_distinct(&pol));
	printf("extfrag_nonmovable_events %zu\nextfrag_nonmovable_blocks %zu\n", nonmov.n,
	       blocks_distinct(&nonmov));
	free(pol.v);
	free(nonmov.v);
	return 0;
}

static int pageblocks(void)
{
	int kf = open("/proc/kpageflags", O_RDONLY);
	static uint64_t fl[512];
	long blocks = 0, mixed = 0, unmov = 0, movable = 0;

	if (kf < 0) {
		perror("evalwork: /proc/kpageflags");
		return 1;
	}
	for (off_t b = 0;; b++) {
		ssize_t r = pread(kf, fl, sizeof(fl), b * (off_t)sizeof(fl));
		int mov = 0, um = 0, any = 0;

		if (r <= 0)
			break;
		for (ssize_t i = 0; i < r / 8; i++) {
			uint64_t x = fl[i];

			if (x & (1ULL << 20))		/* NOPAGE */
				continue;
			any = 1;
			if (x & ((1ULL << 5) | (1ULL << 12)))	/* LRU, ANON */
				mov = 1;
			if (x & ((1ULL << 7) | (1ULL << 26)))	/* SLAB, PGTABLE */
				um = 1;
		}
		if (!any)
			continue;
		blocks++;
		mixed += mov && um;
		unmov += um;
		movable += mov && !um;
	}
	printf("kpf_blocks %ld\nkpf_mixed_blocks %ld\nkpf_slab_pgtable_blocks %ld\nkpf_movable_only_blocks %ld\n",
	       blocks, mixed, unmov, movable);
	return 0;
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	if (argc == 5 && !strcmp(argv[1], "pipes"))
		return seed(argv[3]), pipes(atoi(argv[2]), argv[4]);
	if (argc == 6 && !strcmp(argv[1], "sockets"))
		return seed(argv[4]), sockets(atoi(argv[2]), atol(argv[3]), argv[5]);
	if ((argc == 6 || argc == 7) && !strcmp(argv[1], "kv"))
		return seed(argv[3]), kv(atoi(argv[2]), atol(argv[4]), atol(argv[5]),
					 argc == 7 ? atol(argv[6]) : 64);
	if (argc == 4 && !strcmp(argv[1], "files"))
		return seed(argv[3]), files(argv[2]);
	if (argc >= 5 && argc <= 7 && !strcmp(argv[1], "fault"))
		return seed(argv[3]), fault(atol(argv[2]), argv[4], argc > 5 ? argv[5] : NULL,
					    argc > 6 ? argv[6] : NULL);
	if (argc == 2 && !strcmp(argv[1], "lo"))
		return lo_up();
	if (argc == 3 && !strcmp(argv[1], "extfrag"))
		return extfrag(argv[2]);
	if (argc == 2 && !strcmp(argv[1], "pageblocks"))
		return pageblocks();
	fprintf(stderr, "usage: evalwork pipes N SEED READY | sockets N BYTES SEED READY |\n"
			"       kv PORT SEED KEYS MAXVAL [MINVAL] | files DIR SEED | fault MB SEED OUTFILE [RECORD [REPLAY]] |\n"
			"       lo | extfrag TRACEFILE | pageblocks\n");
	return 2;
}
