/*
 * The accessors of yaml.h: aliases and merge keys followed in place, from what cw_yaml_prepare
 * attached to the nodes.
 */
#include <string.h>

#include "config/yaml.h"

struct cw_ynode *cw_yaml_deref(struct cw_ynode *node)
{
    if (!node || node->type != CW_YNODE_ALIAS)
        return node;
    return node->info ? node->info->node : NULL; /* unbound only in a document that failed */
}

/* The merged pairs of <map>, or NULL when it has no merge key (its own pairs are read). */
static const struct cw_yaml_info *merged(struct cw_ynode *map)
{
    const struct cw_yaml_info *info = map->info;
    return info && info->merges ? info : NULL;
}

bool cw_yaml_map_next(struct cw_ynode *map, struct cw_yaml_iter *it, struct cw_yaml_pair *out)
{
    const struct cw_yaml_info *m = merged(map);
    if (m) {
        if (it->at >= m->n_pairs)
            return false;
        *out = m->pairs[it->at++];
        return true;
    }
    if (it->at >= map->n)
        return false;
    const struct cw_yaml_pair *p = &map->pairs[it->at++];
    out->key = cw_yaml_deref(p->key);
    out->value = cw_yaml_deref(p->value);
    return true;
}

int cw_yaml_map_count(struct cw_ynode *map)
{
    const struct cw_yaml_info *m = merged(map);
    return m ? (int)m->n_pairs : (int)map->n;
}

struct cw_ynode *cw_yaml_map_get(struct cw_ynode *map, const char *key, struct cw_ynode **key_node)
{
    if (key_node)
        *key_node = NULL;
    if (!cw_yaml_is(map, CW_YNODE_MAPPING))
        return NULL;
    /* A scan: the mappings looked up by name (a manifest's top level, metadata) are small. */
    size_t len = strlen(key);
    struct cw_yaml_iter it = {0};
    struct cw_yaml_pair p;
    while (cw_yaml_map_next(map, &it, &p)) {
        if (cw_yaml_is(p.key, CW_YNODE_SCALAR) && p.key->n == len &&
            memcmp(p.key->text, key, len) == 0) {
            if (key_node)
                *key_node = p.key;
            return p.value;
        }
    }
    return NULL;
}

struct cw_ynode *cw_yaml_seq_next(struct cw_ynode *seq, uint32_t *at)
{
    return *at < seq->n ? cw_yaml_deref(seq->items[(*at)++]) : NULL;
}
