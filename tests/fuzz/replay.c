/* SPDX-License-Identifier: MIT */
/*
 * A plain driver for the libFuzzer harnesses (tests/fuzz/fuzz-*.c): runs
 * LLVMFuzzerTestOneInput() once on every file named, or found in a
 * directory named, in name order. Built with any compiler (gcc, the
 * sanitizer build), so the seeds and kept crashes replay in every build
 * of `./dev test`, not only in the clang one that fuzzes. An input that
 * breaks a harness's invariant aborts, and the test fails.
 *
 *   replay-NAME FILE|DIR...
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Read a whole file: 0 and *ret (malloc'd), or -errno. */
static int replay_read(const char *path, uint8_t **ret, size_t *ret_len)
{
	FILE *f = fopen(path, "rbe");
	uint8_t *buf = NULL;
	size_t len = 0, cap = 0;
	int r = 0;

	if (!f) {
		return -errno;
	}
	for (;;) {
		size_t n;

		if (len == cap) {
			uint8_t *b;

			cap = cap ? 2 * cap : 4096;
			b = realloc(buf, cap);
			if (!b) {
				r = -ENOMEM;
				break;
			}
			buf = b;
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
		if (n == 0) {
			if (ferror(f)) {
				r = -EIO;
			}
			break;
		}
	}
	fclose(f);
	if (r < 0) {
		free(buf);
		return r;
	}
	/* An exactly sized copy, as libFuzzer hands it: ASan then sees a
	 * read past the input. */
	*ret = malloc(len ? len : 1);
	if (!*ret) {
		free(buf);
		return -ENOMEM;
	}
	memcpy(*ret, buf, len);
	free(buf);
	*ret_len = len;
	return 0;
}

static int replay_file(const char *path, unsigned *count)
{
	uint8_t *data = NULL;
	size_t len = 0;
	int r = replay_read(path, &data, &len);

	if (r < 0) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(-r));
		return r;
	}
	fprintf(stderr, "replay: %s (%zu bytes)\n", path, len);
	LLVMFuzzerTestOneInput(data, len);
	free(data);
	(*count)++;
	return 0;
}

static int replay_skip(const struct dirent *d)
{
	return d->d_name[0] != '.' && !strstr(d->d_name, ".md");
}

static int replay_dir(const char *dir, unsigned *count)
{
	struct dirent **names;
	int n, r = 0;

	n = scandir(dir, &names, replay_skip, alphasort);
	if (n < 0) {
		/* No regression inputs yet is fine. */
		return errno == ENOENT ? 0 : -errno;
	}
	for (int i = 0; i < n; i++) {
		char path[4096];

		snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
		if (r == 0) {
			r = replay_file(path, count);
		}
		free(names[i]);
	}
	free(names);
	return r;
}

int main(int argc, char **argv)
{
	unsigned count = 0;

	for (int i = 1; i < argc; i++) {
		struct stat st;
		int r;

		if (stat(argv[i], &st) < 0) {
			if (errno == ENOENT) {
				continue;
			}
			perror(argv[i]);
			return 1;
		}
		r = S_ISDIR(st.st_mode) ? replay_dir(argv[i], &count) :
					  replay_file(argv[i], &count);
		if (r < 0) {
			return 1;
		}
	}
	printf("replayed %u inputs\n", count);
	return count ? 0 : 1;
}
