#include "common/cm_file.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int
cm_file_read(const char *path, size_t max, uint8_t **out, size_t *len,
    struct cm_err *err)
{
	struct stat	 st;
	uint8_t		*p = NULL;
	size_t		 n = 0;
	ssize_t		 r;
	int		 fd, rc = -1;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return cm_err_set(err, errno == ENOENT ? CM_ENOTFOUND : CM_EIO,
		    path, "open: %s", strerror(errno));
	if (fstat(fd, &st) == -1) {
		cm_err_set(err, CM_EIO, path, "stat: %s", strerror(errno));
		goto out;
	}
	if ((size_t)st.st_size > max) {
		cm_err_set(err, CM_ELIMIT, path, "file is larger than %zu bytes", max);
		goto out;
	}
	if ((p = malloc((size_t)st.st_size + 1)) == NULL) {
		cm_err_set(err, CM_ENOMEM, path, "out of memory");
		goto out;
	}
	while (n < (size_t)st.st_size) {
		r = read(fd, p + n, (size_t)st.st_size - n);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0) {
			cm_err_set(err, CM_EIO, path, "read: %s",
			    r == 0 ? "file shrank" : strerror(errno));
			goto out;
		}
		n += (size_t)r;
	}
	p[n] = '\0';
	*out = p;
	*len = n;
	p = NULL;
	rc = 0;
out:
	free(p);
	close(fd);
	return rc;
}

static int
fsync_dir(const char *path, struct cm_err *err)
{
	char	tmp[PATH_MAX];
	int	fd, rc = 0;

	snprintf(tmp, sizeof(tmp), "%s", path);
	if ((fd = open(dirname(tmp), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return cm_err_set(err, CM_EIO, path, "open directory: %s",
		    strerror(errno));
	if (fsync(fd) == -1)
		rc = cm_err_set(err, CM_EIO, path, "fsync directory: %s",
		    strerror(errno));
	close(fd);
	return rc;
}

int
cm_file_write_atomic(const char *path, const void *data, size_t len,
    mode_t mode, struct cm_err *err)
{
	char		 tmp[PATH_MAX];
	const uint8_t	*p = data;
	ssize_t		 w;
	int		 fd;

	if (snprintf(tmp, sizeof(tmp), "%s.tmpXXXXXX", path) >= (int)sizeof(tmp))
		return cm_err_set(err, CM_EINVAL, path, "path too long");
	if ((fd = mkstemp(tmp)) == -1)
		return cm_err_set(err, CM_EIO, path, "create temporary file: %s",
		    strerror(errno));
	while (len > 0) {
		w = write(fd, p, len);
		if (w == -1 && errno == EINTR)
			continue;
		if (w == -1) {
			cm_err_set(err, CM_EIO, path, "write: %s", strerror(errno));
			goto fail;
		}
		p += w;
		len -= (size_t)w;
	}
	if (fchmod(fd, mode) == -1 || fsync(fd) == -1) {
		cm_err_set(err, CM_EIO, path, "fsync: %s", strerror(errno));
		goto fail;
	}
	if (close(fd) == -1) {
		fd = -1;
		cm_err_set(err, CM_EIO, path, "close: %s", strerror(errno));
		goto fail;
	}
	if (rename(tmp, path) == -1) {
		cm_err_set(err, CM_EIO, path, "rename: %s", strerror(errno));
		unlink(tmp);
		return -1;
	}
	return fsync_dir(path, err);
fail:
	if (fd != -1)
		close(fd);
	unlink(tmp);
	return -1;
}

int
cm_mkdirs(const char *path, mode_t mode, struct cm_err *err)
{
	char	tmp[PATH_MAX];
	size_t	n;

	if ((n = strlen(path)) == 0 || n >= sizeof(tmp))
		return cm_err_set(err, CM_EINVAL, path, "bad directory path");
	memcpy(tmp, path, n + 1);
	for (char *p = tmp + 1; ; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char c = *p;
		*p = '\0';
		if (mkdir(tmp, mode) == -1 && errno != EEXIST)
			return cm_err_set(err, CM_EIO, tmp, "mkdir: %s",
			    strerror(errno));
		if ((*p = c) == '\0')
			break;
	}
	return 0;
}
