#!/usr/bin/env python3
# Checks the layering of runtime/src (who may #include whom, no include cycles between modules),
# draws the include graph (include-graph.dot), and checks doc/architecture.md lists every source file.
import argparse, os, re, sys
from collections import defaultdict

# The layers under runtime/src, with their rank: a file may include headers of its own layer or a
# lower-ranked one.  A new folder is an error until it is added here on purpose.
LAYERS = {
    'base': 0,       # allocator, arena, lists/queues, event loop, threads
    'wire': 1,       # gRPC framing, headers, metadata, status, timeouts, compression -- pure functions
    'transport': 2,  # sockets, TLS, one nghttp2 session per connection, keepalive
    'stream': 3,     # the role-neutral gRPC stream engine shared by client attempts and server calls
    'client': 4,     # channel, calls, attempts, retries, load balancing, policy
    'server': 4,     # listeners, registry, dispatch, handler side (a peer of client: neither includes the other)
    'ext': 5,        # optional parts on the public API and the extension API (dedup, JWT, later metrics, health...)
}
# ext/ is built on the public API (<cgrpc/...>): of the internals it may include only these.
EXT_MAY_INCLUDE = ('ext', 'base')

INCLUDE = re.compile(r'^\s*#\s*include\s*"([^"]+)"(.*)$')
JUSTIFIED = re.compile(r'(?:/\*|//).*?\bcycle:\s*(.*?)\s*(?:\*/.*)?$')
DOC_ITEM = re.compile(r'^\s*[-*+]\s+((?:`[^`]*`\s*,?\s*)+)(.*)$')
DOC_PATH = re.compile(r'^[A-Za-z0-9_]+(?:/[A-Za-z0-9_.-]+)+\.[ch]$')


def layer_rule(src_layer, dst_layer):
    """The rule an include from src_layer into dst_layer breaks, or None."""
    if src_layer == 'ext':
        if dst_layer not in EXT_MAY_INCLUDE:
            return 'ext/ may include only ext/ and base/ headers (and <cgrpc/...>), not %s/ internals' % dst_layer
    elif {src_layer, dst_layer} == {'client', 'server'}:
        return 'sideways include: client/ and server/ are peers and must not include each other'
    elif LAYERS[dst_layer] > LAYERS[src_layer]:
        return 'upward include: %s/ (rank %d) must not include the higher layer %s/ (rank %d)' % (
            src_layer, LAYERS[src_layer], dst_layer, LAYERS[dst_layer])
    return None


def strongly_connected(nodes, edges):
    """Tarjan: the strongly connected components of the graph, as lists of nodes."""
    index, low, stack, on_stack, comps = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            comps.append(sorted(comp))

    sys.setrecursionlimit(max(1000, 4 * len(nodes)))
    for v in sorted(nodes):
        if v not in index:
            visit(v)
    return comps


def check_graph(src, dot_path, errors):
    """Layer rules and cycles; writes the DOT graph and prints the text map.  Returns the file list."""
    files = []
    includes = []  # (file:line, module, module it includes, cycle reason or None, broken rule or None)
    for d, subdirs, names in os.walk(src):
        subdirs.sort()
        for name in sorted(names):
            if name.endswith(('.c', '.h')):
                files.append(os.path.relpath(os.path.join(d, name), src).replace(os.sep, '/'))
    bad_folders = sorted({f.split('/')[0] for f in files if '/' in f and f.split('/')[0] not in LAYERS})
    for folder in bad_folders:
        errors.append('runtime/src/%s/: unknown layer folder (add it to LAYERS in tests/layers/check_layers.py '
                      'on purpose, with its rank and role)' % folder)
    for f in files:
        if '/' not in f:
            errors.append('runtime/src/%s: not in a layer folder (runtime/src/<layer>/)' % f)
    present, files = set(files), [f for f in files if '/' in f and f.split('/')[0] in LAYERS]
    modules = {os.path.splitext(f)[0] for f in files}
    for f in files:
        with open(os.path.join(src, f), encoding='utf-8', errors='replace') as fh:
            for n, line in enumerate(fh, 1):
                m = INCLUDE.match(line)
                if not m or m.group(1) == 'config.h':
                    continue
                where, inc = 'runtime/src/%s:%d' % (f, n), os.path.normpath(m.group(1)).replace(os.sep, '/')
                if inc not in present:
                    hint = ' (public headers are included as <cgrpc/...>)' if inc.startswith('cgrpc/') else ''
                    errors.append('%s: #include "%s" does not resolve to a file under runtime/src/<layer>/%s'
                                  % (where, m.group(1), hint))
                    continue
                if inc.split('/')[0] not in LAYERS:
                    continue  # into a folder already reported as unknown or stray
                rule = layer_rule(f.split('/')[0], inc.split('/')[0])
                if rule:
                    errors.append('%s: #include "%s": %s' % (where, inc, rule))
                j = JUSTIFIED.search(m.group(2))
                if j and not j.group(1):
                    errors.append('%s: "cycle:" needs a reason after it' % where)
                src_mod, dst_mod = os.path.splitext(f)[0], os.path.splitext(inc)[0]
                if src_mod != dst_mod:
                    includes.append((where, src_mod, dst_mod, j.group(1) if j and j.group(1) else None, rule))

    # Cycles, leaving out the justified include lines.
    edges, all_edges = defaultdict(set), defaultdict(set)
    for where, a, b, why, _ in includes:
        all_edges[a].add(b)
        if why is None:
            edges[a].add(b)
    for comp in strongly_connected(modules, edges):
        if len(comp) > 1:
            lines = ['  %s: %s -> %s' % (w, a, b) for w, a, b, why, _ in includes
                     if why is None and a in comp and b in comp]
            errors.append('include cycle between modules %s:\n%s\n  (break it, or justify one include with a '
                          'trailing /* cycle: reason */ comment)' % (', '.join(comp), '\n'.join(lines)))
    justified = [i for i in includes if i[3] is not None]
    if justified:
        in_cycle = {m: tuple(c) for c in strongly_connected(modules, all_edges) for m in c}
        print('Justified includes, left out of the cycle check:')
        for where, a, b, why, _ in justified:
            unneeded = '' if in_cycle[a] == in_cycle[b] else '  [no cycle through it: the comment can go]'
            print('  %s: %s -> %s -- %s%s' % (where, a, b, why, unneeded))
        print()

    # The map: per layer its modules and how many includes go to each layer (own and lower ones).
    print('Include map (includes per target layer):')
    by_layer = sorted(LAYERS, key=lambda l: (LAYERS[l], l))
    for layer in by_layer:
        mods = sorted(m.split('/', 1)[1] for m in modules if m.split('/')[0] == layer)
        counts = defaultdict(int)
        for _, a, b, _, _ in includes:
            if a.split('/')[0] == layer:
                counts[b.split('/')[0]] += 1
        to = ', '.join('%s %d%s' % (l, counts[l], ' (!)' if layer_rule(layer, l) else '')
                       for l in by_layer if counts[l])
        print('  %-9s (%d) %s\n  %-13s -> %s' % (layer, len(mods), ' '.join(mods) or '-', '', to or '-'))

    # The drawing: one cluster per layer, one node per module; dashed = justified, red = breaks a rule.
    out = ['digraph includes {', '  node [shape=box, fontsize=10];']
    for layer in by_layer:
        out.append('  subgraph "cluster_%s" { label="%s (rank %d)";' % (layer, layer, LAYERS[layer]))
        out += ['    "%s" [label="%s"];' % (m, m.split('/', 1)[1])
                for m in sorted(modules) if m.split('/')[0] == layer]
        out.append('  }')
    drawn = {}
    for _, a, b, why, rule in includes:
        style = drawn.get((a, b), (True, False))
        drawn[(a, b)] = (style[0] and why is not None, style[1] or bool(rule))
    for (a, b), (dashed, red) in sorted(drawn.items()):
        attrs = ['style=dashed'] * dashed + ['color=red'] * red
        out.append('  "%s" -> "%s"%s;' % (a, b, ' [%s]' % ', '.join(attrs) if attrs else ''))
    with open(dot_path, 'w') as fh:
        fh.write('\n'.join(out + ['}']) + '\n')
    return files


def check_doc(doc, src, files, errors):
    """Every file under runtime/src listed exactly once in doc, each listing with a role."""
    if not os.path.isfile(doc):
        errors.append('%s: missing -- it must list every file under runtime/src, one list item each: '
                      '"- `base/alloc.c`, `base/alloc.h` -- role"' % doc)
        return
    listed, fence = {}, False
    with open(doc, encoding='utf-8') as fh:
        for n, line in enumerate(fh, 1):
            if line.lstrip().startswith(('```', '~~~')):
                fence = not fence
            m = None if fence else DOC_ITEM.match(line)
            if not m:
                continue
            paths = [p for p in re.findall(r'`([^`]*)`', m.group(1)) if DOC_PATH.match(p) and
                     (p.split('/')[0] in LAYERS or os.path.isdir(os.path.join(src, p.split('/')[0])))]
            if paths and not m.group(2).strip(' \t\n-:,.\u2013\u2014'):
                errors.append('%s:%d: no role after %s (write "- `%s` -- what it is for")'
                              % (doc, n, ', '.join(paths), paths[0]))
            for p in paths:
                if p in listed:
                    errors.append('%s:%d: %s is listed twice (first at line %d)' % (doc, n, p, listed[p]))
                elif not os.path.isfile(os.path.join(src, p)):
                    errors.append('%s:%d: %s is listed but runtime/src/%s does not exist' % (doc, n, p, p))
                listed.setdefault(p, n)
    for f in files:
        if f not in listed:
            errors.append('%s: runtime/src/%s is not listed (add "- `%s` -- role")' % (doc, f, f))


def main():
    ap = argparse.ArgumentParser(description='Check the layering and include graph of runtime/src.')
    ap.add_argument('src', help='the runtime/src directory')
    ap.add_argument('--dot', default='include-graph.dot', help='where to write the graph (default: %(default)s)')
    ap.add_argument('--architecture', metavar='PATH', help='also check that this document lists every file')
    args = ap.parse_args()
    if not os.path.isdir(args.src):
        ap.error('%s: not a directory' % args.src)
    errors, args.architecture = [], args.architecture and os.path.normpath(args.architecture)
    files = check_graph(args.src, args.dot, errors)
    if args.architecture:
        check_doc(args.architecture, args.src, files, errors)
    print('\nWrote %s.' % args.dot)
    for e in errors:
        print('error: ' + e)
    print('%d error(s)' % len(errors) if errors else 'OK: layering, cycles%s' %
          (' and the architecture listing' if args.architecture else ''))
    return 1 if errors else 0


if __name__ == '__main__':
    sys.exit(main())
