/*
 * The hosts file, in memory (hosts_file.h).
 */
#include "dns/hosts_file.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "dns/names.h"
#include "util/netaddr.h"
#include "util/strmap.h"
#include "util/xalloc.h"

/* A hosts file larger than this is not read (it would be a mistake, or hostile). */
#define HOSTS_FILE_MAX_BYTES (16u << 20)
#define HOST_NAME_MAX_LEN 253

struct host {
    uint32_t n_addrs;
    struct sockaddr_storage addrs[CW_DNS_MAX_ADDRESSES];
    char name[]; /* lowercase; the map's key */
};

struct cw_hosts_file {
    char *path;
    uint64_t check_every_ms;
    uint64_t checked_at_ms;
    bool checked_once;
    struct stat seen; /* what was read: its inode, size and modification time */
    bool seen_valid;
    struct cw_strmap by_name; /* lowercase name → struct host */
    struct host **hosts;
    size_t n_hosts, cap_hosts;
};

struct cw_hosts_file *cw_hosts_file_new(const char *path, uint64_t check_every_ms)
{
    struct cw_hosts_file *h = cw_xcalloc(1, sizeof(*h));
    h->path = cw_xstrdup(path);
    h->check_every_ms = check_every_ms;
    cw_strmap_init(&h->by_name);
    return h;
}

static void clear(struct cw_hosts_file *h)
{
    for (size_t i = 0; i < h->n_hosts; i++)
        free(h->hosts[i]);
    h->n_hosts = 0;
    cw_strmap_deinit(&h->by_name);
    cw_strmap_init(&h->by_name);
}

void cw_hosts_file_free(struct cw_hosts_file *h)
{
    if (!h)
        return;
    clear(h);
    cw_strmap_deinit(&h->by_name);
    free(h->hosts);
    free(h->path);
    free(h);
}

/* <name> in lowercase into <out>, without a final dot ("name." is the same name). Returns its
 * length, or 0 when it is empty or too long to be a name. */
static size_t lowercase_name(const char *name, size_t len, char out[HOST_NAME_MAX_LEN + 1])
{
    if (len > 1 && name[len - 1] == '.')
        len--;
    if (len == 0 || len > HOST_NAME_MAX_LEN)
        return 0;
    for (size_t i = 0; i < len; i++)
        out[i] = (char)((name[i] >= 'A' && name[i] <= 'Z') ? name[i] + 32 : name[i]);
    out[len] = '\0';
    return len;
}

static void add_name(struct cw_hosts_file *h, const char *name, size_t len,
                     const struct sockaddr_storage *addr)
{
    char lower[HOST_NAME_MAX_LEN + 1];
    len = lowercase_name(name, len, lower);
    if (!len)
        return;
    struct host *e = cw_strmap_get(&h->by_name, lower, len);
    if (!e) {
        e = cw_xcalloc(1, sizeof(*e) + len + 1);
        memcpy(e->name, lower, len + 1);
        if (h->n_hosts == h->cap_hosts) {
            h->cap_hosts = h->cap_hosts ? h->cap_hosts * 2 : 64;
            h->hosts = cw_xrealloc(h->hosts, h->cap_hosts * sizeof(*h->hosts));
        }
        h->hosts[h->n_hosts++] = e;
        cw_strmap_put_new(&h->by_name, e->name, len, e);
    }
    if (e->n_addrs < CW_DNS_MAX_ADDRESSES)
        e->addrs[e->n_addrs++] = *addr;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

/* One line, without its newline. */
static void parse_line(struct cw_hosts_file *h, const char *p, const char *end)
{
    const char *hash = memchr(p, '#', (size_t)(end - p));
    if (hash)
        end = hash;
    struct sockaddr_storage addr;
    bool first = true;
    while (p < end) {
        while (p < end && is_space(*p))
            p++;
        const char *word = p;
        while (p < end && !is_space(*p))
            p++;
        if (p == word)
            break;
        if (first) {
            char text[INET6_ADDRSTRLEN + 1];
            size_t len = (size_t)(p - word);
            if (len >= sizeof(text))
                return;
            memcpy(text, word, len);
            text[len] = '\0';
            if (!cw_ip_literal_sockaddr(text, &addr))
                return;
            first = false;
        } else {
            add_name(h, word, (size_t)(p - word), &addr);
        }
    }
}

static void parse_text(struct cw_hosts_file *h, const char *text, size_t len)
{
    clear(h);
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *line_end = nl ? nl : end;
        parse_line(h, p, line_end);
        p = nl ? nl + 1 : end;
    }
}

void cw_hosts_file_parse(struct cw_hosts_file *h, const char *text, size_t len)
{
    parse_text(h, text, len);
    h->checked_once = true; /* as if read at time 0 */
    h->checked_at_ms = 0;
}

static bool same_file(const struct stat *a, const struct stat *b)
{
    return a->st_ino == b->st_ino && a->st_dev == b->st_dev && a->st_size == b->st_size &&
           a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

static void read_file(struct cw_hosts_file *h, const struct stat *st)
{
    clear(h);
    h->seen = *st;
    h->seen_valid = true;
    if (st->st_size <= 0 || (uint64_t)st->st_size > HOSTS_FILE_MAX_BYTES)
        return;
    FILE *f = fopen(h->path, "rb");
    if (!f)
        return;
    char *text = cw_xmalloc((size_t)st->st_size);
    size_t len = fread(text, 1, (size_t)st->st_size, f);
    fclose(f);
    parse_text(h, text, len);
    free(text);
}

/* Reads the file again when it changed (or went away) since it was last read. */
static void check(struct cw_hosts_file *h, uint64_t now_ms)
{
    if (h->checked_once && now_ms - h->checked_at_ms < h->check_every_ms)
        return;
    h->checked_once = true;
    h->checked_at_ms = now_ms;
    struct stat st;
    if (stat(h->path, &st) != 0) {
        clear(h);
        h->seen_valid = false;
        return;
    }
    if (!h->seen_valid || !same_file(&st, &h->seen))
        read_file(h, &st);
}

uint32_t cw_hosts_file_lookup(struct cw_hosts_file *h, const char *name, uint64_t now_ms,
                              struct sockaddr_storage *out, uint32_t cap)
{
    check(h, now_ms);
    char lower[HOST_NAME_MAX_LEN + 1];
    size_t len = h->n_hosts ? lowercase_name(name, strlen(name), lower) : 0;
    if (!len)
        return 0;
    const struct host *e = cw_strmap_get(&h->by_name, lower, len);
    if (!e)
        return 0;
    uint32_t k = e->n_addrs < cap ? e->n_addrs : cap;
    memcpy(out, e->addrs, k * sizeof(*out));
    return k;
}
