#include "cli/file_watch.h"

#include <libgen.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/xalloc.h"

/* One watched directory and the entry names in it that matter (<all>: its manifests). */
struct dir_watch {
    uv_fs_event_t handle;
    struct cw_file_watch *owner;
    char *dir;
    char **names;
    unsigned n_names;
    bool all;
};

struct cw_file_watch {
    struct dir_watch *dirs;
    unsigned n_dirs;
    unsigned open_handles; /* freed when the last handle has closed */
    uv_timer_t quiet;
    uint64_t quiet_ms;
    void (*on_change)(void *data);
    void *data;
};

/* ---- which directory and which entry ---- */

static struct dir_watch *dir_for(struct cw_file_watch *w, const char *dir)
{
    for (unsigned i = 0; i < w->n_dirs; i++)
        if (!strcmp(w->dirs[i].dir, dir))
            return &w->dirs[i];
    w->dirs = cw_xrealloc(w->dirs, (w->n_dirs + 1) * sizeof(*w->dirs));
    struct dir_watch *d = &w->dirs[w->n_dirs++];
    memset(d, 0, sizeof(*d));
    d->dir = cw_xstrdup(dir);
    return d;
}

/* A file is watched through its directory, by name; a directory as a whole. */
static void add_path(struct cw_file_watch *w, const char *path)
{
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        dir_for(w, path)->all = true;
        return;
    }
    char *copy_dir = cw_xstrdup(path), *copy_base = cw_xstrdup(path);
    struct dir_watch *d = dir_for(w, dirname(copy_dir));
    d->names = cw_xrealloc(d->names, (d->n_names + 1) * sizeof(*d->names));
    d->names[d->n_names++] = cw_xstrdup(basename(copy_base));
    free(copy_dir);
    free(copy_base);
}

static bool is_manifest(const char *name)
{
    size_t n = strlen(name);
    return (n > 5 && !strcmp(name + n - 5, ".yaml")) || (n > 4 && !strcmp(name + n - 4, ".yml"));
}

/* Whether an event on entry <name> of <d> concerns a watched file: a manifest of a watched
 * directory (not whatever else is written there, such as a log), or a watched file. Kubernetes
 * swaps a mounted volume's "..data" symlink (its entries are "..2026_12_07..." directories):
 * any "..*" entry counts. */
static bool concerns(const struct dir_watch *d, const char *name)
{
    if (!name || !strncmp(name, "..", 2) || (d->all && is_manifest(name)))
        return true;
    for (unsigned i = 0; i < d->n_names; i++)
        if (!strcmp(d->names[i], name))
            return true;
    return false;
}

/* ---- events ---- */

static void on_quiet(uv_timer_t *timer)
{
    struct cw_file_watch *w = timer->data;
    w->on_change(w->data);
}

static void on_event(uv_fs_event_t *handle, const char *name, int events, int status)
{
    (void)events;
    struct dir_watch *d = handle->data;
    if (status < 0 || !concerns(d, name))
        return;
    /* a burst (an editor's temporary file, a Secret's several keys) reloads once */
    uv_timer_start(&d->owner->quiet, on_quiet, d->owner->quiet_ms, 0);
}

struct cw_file_watch *cw_file_watch_start(uv_loop_t *loop, const char *const *paths, unsigned n,
                                          uint64_t quiet_ms, void (*on_change)(void *data),
                                          void *data)
{
    struct cw_file_watch *w = cw_xcalloc(1, sizeof(*w));
    w->quiet_ms = quiet_ms;
    w->on_change = on_change;
    w->data = data;
    for (unsigned i = 0; i < n; i++)
        add_path(w, paths[i]);
    uv_timer_init(loop, &w->quiet);
    w->quiet.data = w;
    w->open_handles = 1;
    for (unsigned i = 0; i < w->n_dirs; i++) {
        struct dir_watch *d = &w->dirs[i];
        d->owner = w;
        uv_fs_event_init(loop, &d->handle);
        d->handle.data = d;
        w->open_handles++;
        int rc = uv_fs_event_start(&d->handle, on_event, d->dir, 0);
        if (rc != 0)
            fprintf(stderr, "causeway: cannot watch %s for changes: %s (SIGHUP still reloads)\n",
                    d->dir, uv_strerror(rc));
    }
    return w;
}

/* ---- stopping ---- */

static void free_watch(struct cw_file_watch *w)
{
    for (unsigned i = 0; i < w->n_dirs; i++) {
        for (unsigned j = 0; j < w->dirs[i].n_names; j++)
            free(w->dirs[i].names[j]);
        free(w->dirs[i].names);
        free(w->dirs[i].dir);
    }
    free(w->dirs);
    free(w);
}

static void on_closed(uv_handle_t *h)
{
    struct cw_file_watch *w = h->type == UV_TIMER ? h->data : ((struct dir_watch *)h->data)->owner;
    if (--w->open_handles == 0)
        free_watch(w);
}

void cw_file_watch_stop(struct cw_file_watch *w)
{
    if (!w)
        return;
    uv_close((uv_handle_t *)&w->quiet, on_closed);
    for (unsigned i = 0; i < w->n_dirs; i++)
        uv_close((uv_handle_t *)&w->dirs[i].handle, on_closed);
}
