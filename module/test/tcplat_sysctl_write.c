// SPDX-License-Identifier: GPL-2.0
/*
 * Why this file exists: fuzz-sysctl.sh needs byte-exact writes to the
 * tcplat sysctls (one write(2) per buffer, NUL bytes, offsets) and several
 * hundred random buffers per knob, which the shell cannot do.  Issue #14
 * keeps Python out of module/, so this small C program does them:
 *
 *   tcplat_sysctl_write write FILE OFFSET BUF...
 *	open FILE once, seek to OFFSET, one write(2) per BUF; prints "ok",
 *	"shortN" or the errno name per BUF ("open-EACCES" if the open fails);
 *	exits 0 if every write took, else 1.
 *   tcplat_sysctl_write batch FILE
 *	one case a line on stdin: LABEL, OFFSET, BUF... separated by tabs;
 *	each is done as "write" does and printed as LABEL, the results, "="
 *	and the value before, "=" and the value after (escaped, see esc()),
 *	tab-separated.
 *   tcplat_sysctl_write random FILE SEED TRIALS int MIN MAX
 *   tcplat_sysctl_write random FILE SEED TRIALS names NAME,NAME...
 *	TRIALS random buffers from SEED, one write(2) each, except those
 *	that might be a valid value; prints a summary and up to 10 buffers
 *	that were taken or changed the value ("BAD ..."), exits 1 if any.
 *
 * BUF is given with C escapes ('\x00', '\n', '\t', '\\', octal), so NUL
 * bytes survive the command line; "-" is stdin, "@FILE" FILE's contents.
 * Bad usage exits 2 with a message.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_GEN		9000	/* longest random buffer, see gen() */
#define MAX_BAD		10	/* offending buffers printed */
#define MAX_ERRS	64	/* distinct results counted */
#define REPR_LEN	60	/* bytes of an offending buffer printed */
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

typedef unsigned long long u64;

struct buf {
	unsigned char *p;
	size_t len;
};

static void usage(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "tcplat_sysctl_write: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr,
		"\nusage: tcplat_sysctl_write write FILE OFFSET BUF...\n"
		"       tcplat_sysctl_write batch FILE < CASES\n"
		"       tcplat_sysctl_write random FILE SEED TRIALS int MIN MAX\n"
		"       tcplat_sysctl_write random FILE SEED TRIALS names NAME,...\n");
	exit(2);
}

/* An unexpected failure (a read of the sysctl, a seek): give up. */
static void die(const char *what, const char *path)
{
	fprintf(stderr, "tcplat_sysctl_write: %s %s: %s\n", what, path,
		strerror(errno));
	exit(1);
}

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p) {
		fprintf(stderr, "tcplat_sysctl_write: out of memory\n");
		exit(1);
	}
	return p;
}

static void buf_add(struct buf *b, const void *p, size_t n, size_t *cap)
{
	if (b->len + n > *cap) {
		while (b->len + n > *cap)
			*cap = *cap ? 2 * *cap : 256;
		b->p = xrealloc(b->p, *cap);
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

/* The whole of fd, to its end. */
static int read_fd(int fd, struct buf *b)
{
	unsigned char chunk[8192];
	size_t cap = 0;
	ssize_t n;

	b->p = NULL;
	b->len = 0;
	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (!n)
			break;
		buf_add(b, chunk, n, &cap);
	}
	if (!b->p)
		b->p = xrealloc(NULL, 1);
	return 0;
}

static void read_path(const char *path, struct buf *b)
{
	int fd = open(path, O_RDONLY);

	if (fd < 0 || read_fd(fd, b))
		die("cannot read", path);
	close(fd);
}

static const char *errname(int err)
{
	static char num[16];
	const char *s;

#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 32)
	s = strerrorname_np(err);
#else
	static const struct {
		int err;
		const char *name;
	} names[] = {
		{ EPERM, "EPERM" }, { ENOENT, "ENOENT" }, { EIO, "EIO" },
		{ EBADF, "EBADF" }, { EAGAIN, "EAGAIN" }, { ENOMEM, "ENOMEM" },
		{ EACCES, "EACCES" }, { EFAULT, "EFAULT" }, { EBUSY, "EBUSY" },
		{ ENODEV, "ENODEV" }, { EISDIR, "EISDIR" }, { EINVAL, "EINVAL" },
		{ ENOSPC, "ENOSPC" }, { ESPIPE, "ESPIPE" }, { EROFS, "EROFS" },
		{ E2BIG, "E2BIG" }, { ERANGE, "ERANGE" },
		{ EOVERFLOW, "EOVERFLOW" }, { EOPNOTSUPP, "EOPNOTSUPP" },
	};
	size_t i;

	s = NULL;
	for (i = 0; i < ARRAY_SIZE(names); i++)
		if (names[i].err == err)
			s = names[i].name;
#endif
	if (s)
		return s;
	snprintf(num, sizeof(num), "%d", err);
	return num;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* C escapes to bytes, as Python's codecs.escape_decode() does them. */
static void unesc(const char *s, struct buf *b)
{
	size_t i = 0, n = strlen(s);
	unsigned char c;
	int v, k;

	b->p = xrealloc(NULL, n + 1);
	b->len = 0;
	while (i < n) {
		c = s[i++];
		if (c != '\\') {
			b->p[b->len++] = c;
			continue;
		}
		if (i == n)
			usage("trailing \\ in '%s'", s);
		c = s[i++];
		switch (c) {
		case '\n':
			continue;
		case '\\': case '\'': case '"':
			break;
		case 'a':
			c = '\a';
			break;
		case 'b':
			c = '\b';
			break;
		case 'f':
			c = '\f';
			break;
		case 'n':
			c = '\n';
			break;
		case 'r':
			c = '\r';
			break;
		case 't':
			c = '\t';
			break;
		case 'v':
			c = '\v';
			break;
		case 'x':
			if (i + 2 > n || hexval(s[i]) < 0 || hexval(s[i + 1]) < 0)
				usage("invalid \\x escape in '%s'", s);
			c = hexval(s[i]) * 16 + hexval(s[i + 1]);
			i += 2;
			break;
		case '0': case '1': case '2': case '3':
		case '4': case '5': case '6': case '7':
			v = c - '0';
			for (k = 0; k < 2 && i < n && s[i] >= '0' && s[i] <= '7'; k++)
				v = v * 8 + s[i++] - '0';
			c = v & 0xff;
			break;
		default:
			/* Unknown escapes stay as they are. */
			b->p[b->len++] = '\\';
			break;
		}
		b->p[b->len++] = c;
	}
}

/* A BUF argument: "-" is stdin, "@FILE" FILE's contents, else escapes. */
static void arg(const char *s, struct buf *b)
{
	int fd;

	if (!strcmp(s, "-")) {
		if (read_fd(0, b))
			die("cannot read", "stdin");
		return;
	}
	if (s[0] == '@') {
		fd = open(s + 1, O_RDONLY);
		if (fd < 0 || read_fd(fd, b))
			die("cannot read", s + 1);
		close(fd);
		return;
	}
	unesc(s, b);
}

/*
 * @len bytes at @p with \t \n \r \\, \ before @quote and \xNN for the
 * other non-printables, so a value with newlines or tabs stays on one
 * field of one line.
 */
static void put_escaped(FILE *f, const unsigned char *p, size_t len,
			int quote)
{
	size_t i;
	int c;

	for (i = 0; i < len; i++) {
		c = p[i];
		if (c == '\\' || c == quote)
			fprintf(f, "\\%c", c);
		else if (c == '\t')
			fputs("\\t", f);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c == '\r')
			fputs("\\r", f);
		else if (c < ' ' || c >= 0x7f)
			fprintf(f, "\\x%02x", c);
		else
			fputc(c, f);
	}
}

/* Bytes as codecs.escape_encode() prints them: a single quote escaped. */
static void esc(FILE *f, const struct buf *b)
{
	put_escaped(f, b->p, b->len, '\'');
}

/* Bytes as Python's repr() prints them: b'...', or b"..." if need be. */
static void repr(FILE *f, const unsigned char *p, size_t len)
{
	int squote = 0, dquote = 0, quote = '\'';
	size_t i;

	for (i = 0; i < len; i++) {
		squote |= p[i] == '\'';
		dquote |= p[i] == '"';
	}
	if (squote && !dquote)
		quote = '"';
	fprintf(f, "b%c", quote);
	put_escaped(f, p, len, quote);
	fputc(quote, f);
}

/* One write(2) of b: "ok", "shortN" or the errno name. */
static const char *wr(int fd, const struct buf *b)
{
	static char out[32];
	ssize_t n = write(fd, b->p, b->len);

	if (n < 0)
		return errname(errno);
	if ((size_t)n == b->len)
		return "ok";
	snprintf(out, sizeof(out), "short%zd", n);
	return out;
}

static long long num(const char *s, long long min, long long max)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		usage("'%s' is not a number in %lld..%lld", s, min, max);
	return v;
}

/*
 * Open path, seek to off and write each of the n buffers; the results go
 * to f, separated by blanks.  Returns 0 if every write took.
 */
static int write_bufs(FILE *f, const char *path, long long off,
		      struct buf *bufs, int n)
{
	const char *r;
	int fd, i, rc = 0;

	fd = open(path, O_WRONLY);
	if (fd < 0) {
		fprintf(f, "open-%s", errname(errno));
		return 1;
	}
	if (off && lseek(fd, off, SEEK_SET) < 0)
		die("cannot seek in", path);
	for (i = 0; i < n; i++) {
		r = wr(fd, &bufs[i]);
		fprintf(f, "%s%s", i ? " " : "", r);
		if (strcmp(r, "ok"))
			rc = 1;
	}
	close(fd);
	return rc;
}

static void free_bufs(struct buf *bufs, int n)
{
	int i;

	for (i = 0; i < n; i++)
		free(bufs[i].p);
	free(bufs);
}

static int cmd_write(const char *path, const char *off, char **args, int n)
{
	long long o = num(off, 0, LLONG_MAX);
	struct buf *bufs = xrealloc(NULL, n * sizeof(*bufs));
	int i, rc;

	for (i = 0; i < n; i++)
		arg(args[i], &bufs[i]);
	rc = write_bufs(stdout, path, o, bufs, n);
	putchar('\n');
	free_bufs(bufs, n);
	return rc;
}

/* Splits line at tabs in place; returns the number of fields. */
static int split_tabs(char *line, char ***fields)
{
	int n = 1, i = 0;
	char *p;

	for (p = line; *p; p++)
		n += *p == '\t';
	*fields = xrealloc(NULL, n * sizeof(**fields));
	(*fields)[i++] = line;
	for (p = line; *p; p++) {
		if (*p == '\t') {
			*p = '\0';
			(*fields)[i++] = p + 1;
		}
	}
	return n;
}

static int cmd_batch(const char *path)
{
	struct buf in, before, after, *bufs;
	char *line, *next, **f;
	long long off;
	int n, i;

	if (read_fd(0, &in))
		die("cannot read", "stdin");
	in.p = xrealloc(in.p, in.len + 1);
	in.p[in.len] = '\0';
	for (line = (char *)in.p; *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		else
			next = line + strlen(line);
		n = split_tabs(line, &f);
		if (n < 2)
			usage("batch: case '%s' has no OFFSET", line);
		off = num(f[1], 0, LLONG_MAX);
		bufs = xrealloc(NULL, (n - 2) * sizeof(*bufs));
		for (i = 2; i < n; i++)
			arg(f[i], &bufs[i - 2]);
		read_path(path, &before);
		printf("%s\t", f[0]);
		write_bufs(stdout, path, off, bufs, n - 2);
		read_path(path, &after);
		fputs("\t=", stdout);
		esc(stdout, &before);
		fputs("\t=", stdout);
		esc(stdout, &after);
		putchar('\n');
		free(before.p);
		free(after.p);
		free_bufs(bufs, n - 2);
		free(f);
	}
	free(in.p);
	return 0;
}

/* splitmix64: small, seeded, the same buffers for the same seed. */
static u64 rng_state;

static u64 rng_next(void)
{
	u64 z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* A number in lo..hi - 1, without modulo bias. */
static unsigned int randrange(unsigned int lo, unsigned int hi)
{
	u64 span = hi - lo, limit = ULLONG_MAX - ULLONG_MAX % span, r;

	do {
		r = rng_next();
	} while (r >= limit);
	return lo + r % span;
}

static size_t rand_bytes(unsigned char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = randrange(0, 256);
	return n;
}

/* One random buffer of one of six kinds, at most MAX_GEN bytes. */
static size_t gen(unsigned char *p)
{
	static const unsigned char alpha[] = "0123456789 \t\n\0-+xX.eabz\xff";
	static const size_t longs[] = { 4095, 4096, 4097, 8192, 0 };
	size_t n = 0, i, len;

	switch (randrange(0, 6)) {
	case 0:		/* raw random bytes */
		return rand_bytes(p, randrange(1, 65));
	case 1:		/* the characters a parser cares about */
		len = randrange(1, 25);
		for (i = 0; i < len; i++)
			p[i] = alpha[randrange(0, sizeof(alpha) - 1)];
		return len;
	case 2:		/* a number followed by random bytes */
		n = sprintf((char *)p, "%u", randrange(0, 100));
		return n + rand_bytes(p + n, randrange(1, 9));
	case 3:		/* random bytes then a number */
		n = rand_bytes(p, randrange(1, 9));
		return n + sprintf((char *)p + n, "%u", randrange(0, 100));
	case 4:		/* printable junk */
		len = randrange(1, 41);
		for (i = 0; i < len; i++)
			p[i] = randrange(32, 127);
		return len;
	}
	/* long: around a page, random content */
	len = longs[randrange(0, 5)];
	if (!len)
		len = randrange(4000, MAX_GEN);
	return rand_bytes(p, len);
}

static int is_ws(int c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

static int is_lower(int c)
{
	return c >= 'a' && c <= 'z';
}

/* The whole buffer is blanks, '-'?, a digit, [0-9a-fA-FxX]*, blanks. */
static int maybe_int(const unsigned char *p, size_t len)
{
	size_t i = 0;

	while (i < len && is_ws(p[i]))
		i++;
	if (i < len && p[i] == '-')
		i++;
	if (i == len || p[i] < '0' || p[i] > '9')
		return 0;
	while (i < len && (hexval(p[i]) >= 0 || p[i] == 'x' || p[i] == 'X'))
		i++;
	while (i < len && is_ws(p[i]))
		i++;
	return i == len;
}

/* Some name stands alone: between non-[a-z] bytes or the ends. */
static int maybe_name(const unsigned char *p, size_t len, char **names,
		      int nnames)
{
	size_t at, n;
	int i;

	for (at = 0; at <= len; at++) {
		if (at && is_lower(p[at - 1]))
			continue;
		for (i = 0; i < nnames; i++) {
			n = strlen(names[i]);
			if (at + n <= len && !memcmp(p + at, names[i], n) &&
			    (at + n == len || !is_lower(p[at + n])))
				return 1;
		}
	}
	return 0;
}

struct count {
	char name[32];
	int n;
};

static int count_cmp(const void *a, const void *b)
{
	return strcmp(((const struct count *)a)->name,
		      ((const struct count *)b)->name);
}

/*
 * Anything the kernel might read as one valid value is not used as a bad
 * buffer (counted as skipped instead): int_kind says whether the knob is
 * an integer one, else names lists its policy names.
 */
static int cmd_random(const char *path, u64 seed, int trials,
		      int int_kind, char **names, int nnames)
{
	static unsigned char p[MAX_GEN + 16];
	char *bad[MAX_BAD];
	size_t bad_len;
	struct count errs[MAX_ERRS];
	int done = 0, skipped = 0, refused = 0, nerrs = 0, nbad = 0, i, j, fd;
	struct buf b = { p, 0 }, before, after;
	const char *r;
	FILE *f;

	rng_state = seed;
	for (i = 0; i < trials; i++) {
		b.len = gen(p);
		if (int_kind ? maybe_int(p, b.len) :
		    maybe_name(p, b.len, names, nnames)) {
			skipped++;
			continue;
		}
		read_path(path, &before);
		fd = open(path, O_WRONLY);
		if (fd < 0)
			die("cannot open", path);
		r = wr(fd, &b);
		close(fd);
		read_path(path, &after);
		done++;
		if (strcmp(r, "ok")) {
			refused++;
			for (j = 0; j < nerrs && strcmp(errs[j].name, r); j++)
				;
			if (j == nerrs && nerrs < MAX_ERRS) {
				snprintf(errs[j].name, sizeof(errs[j].name),
					 "%s", r);
				errs[j].n = 0;
				nerrs++;
			}
			if (j < nerrs)
				errs[j].n++;
		}
		if ((!strcmp(r, "ok") || before.len != after.len ||
		     memcmp(before.p, after.p, before.len)) &&
		    nbad++ < MAX_BAD) {
			f = open_memstream(&bad[nbad - 1], &bad_len);
			if (!f) {
				fprintf(stderr, "tcplat_sysctl_write: out of memory\n");
				exit(1);
			}
			fprintf(f, "trial %d: ", i);
			repr(f, p, b.len < REPR_LEN ? b.len : REPR_LEN);
			fprintf(f, " -> %s, ", r);
			repr(f, before.p, before.len);
			fputs(" -> ", f);
			repr(f, after.p, after.len);
			fclose(f);
		}
		free(before.p);
		free(after.p);
	}
	qsort(errs, nerrs, sizeof(errs[0]), count_cmp);
	printf("trials %d skipped %d written %d refused %d errors ",
	       trials, skipped, done, refused);
	for (j = 0; j < nerrs; j++)
		printf("%s%s:%d", j ? "," : "", errs[j].name, errs[j].n);
	printf("%s\n", nerrs ? "" : "-");
	for (j = 0; j < nbad && j < MAX_BAD; j++) {
		printf("BAD %s\n", bad[j]);
		free(bad[j]);
	}
	return nbad ? 1 : 0;
}

int main(int argc, char **argv)
{
	char **names = NULL, *s;
	int nnames = 0, int_kind;
	u64 seed;
	int trials;

	if (argc < 2)
		usage("no command");
	if (!strcmp(argv[1], "write")) {
		if (argc < 4)
			usage("write needs FILE and OFFSET");
		return cmd_write(argv[2], argv[3], argv + 4, argc - 4);
	}
	if (!strcmp(argv[1], "batch")) {
		if (argc != 3)
			usage("batch takes FILE only");
		return cmd_batch(argv[2]);
	}
	if (strcmp(argv[1], "random"))
		usage("unknown command '%s'", argv[1]);
	if (argc < 7)
		usage("random needs FILE SEED TRIALS and a kind");
	seed = num(argv[3], 0, LLONG_MAX);
	trials = num(argv[4], 0, 1000000);
	int_kind = !strcmp(argv[5], "int");
	if (int_kind) {
		/* MIN and MAX are checked, the filter does not need them */
		if (argc != 8)
			usage("random ... int takes MIN MAX");
		num(argv[6], LLONG_MIN, LLONG_MAX);
		num(argv[7], LLONG_MIN, LLONG_MAX);
	} else if (!strcmp(argv[5], "names")) {
		if (argc != 7)
			usage("random ... names takes NAME,NAME...");
		for (s = argv[6]; s; ) {
			names = xrealloc(names, (nnames + 1) * sizeof(*names));
			names[nnames++] = s;
			s = strchr(s, ',');
			if (s)
				*s++ = '\0';
		}
	} else {
		usage("unknown kind '%s' (int or names)", argv[5]);
	}
	return cmd_random(argv[2], seed, trials, int_kind, names, nnames);
}
