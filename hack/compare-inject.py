#!/usr/bin/env python3
# Compares the pod templates of two kube-inject outputs field by field (see docs/inject-vs-istioctl.md):
#   hack/compare-inject.py istioctl-out.yaml skiff-out.yaml
import yaml,sys,json
def pods(f):
    out={}
    for d in yaml.safe_load_all(open(f)):
        if not d: continue
        k=d['kind']; t=d if k=='Pod' else d['spec']['template']
        out[f"{k}/{d['metadata']['name']}"]=t
    return out
a=pods(sys.argv[1]); b=pods(sys.argv[2])
def names(l): return [c['name'] for c in (l or [])]
def env(c): return {e['name']:(e.get('value') if 'value' in e else json.dumps(e.get('valueFrom'),sort_keys=True)) for e in c.get('env',[])}
def cont(t,n):
    for c in (t['spec'].get('containers') or [])+(t['spec'].get('initContainers') or []):
        if c['name']==n: return c
    return {}
for w in a:
    A,B=a[w],b[w]
    print(f"=== {w}")
    for f in ['labels','annotations']:
        ka=A['metadata'].get(f) or {}; kb=B['metadata'].get(f) or {}
        for k in sorted(set(ka)|set(kb)):
            if k=='sidecar.istio.io/status': continue
            if ka.get(k)!=kb.get(k): print(f"  metadata.{f}[{k}]: istioctl={ka.get(k)!r} skiff={kb.get(k)!r}")
    for f in ['initContainers','containers','volumes']:
        if names(A['spec'].get(f))!=names(B['spec'].get(f)): print(f"  spec.{f}: istioctl={names(A['spec'].get(f))} skiff={names(B['spec'].get(f))}")
    for n in ['istio-init','istio-proxy']:
        ca,cb=cont(A,n),cont(B,n)
        for f in sorted(set(ca)|set(cb)):
            if f=='env':
                ea,eb=env(ca),env(cb)
                for k in sorted(set(ea)|set(eb)):
                    if ea.get(k)!=eb.get(k): print(f"  {n}.env[{k}]: istioctl={ea.get(k)!r} skiff={eb.get(k)!r}")
            elif ca.get(f)!=cb.get(f): print(f"  {n}.{f}: istioctl={json.dumps(ca.get(f))} skiff={json.dumps(cb.get(f))}")
    for c in A['spec']['containers']:
        if c['name'].startswith('istio'): continue
        cb=cont(B,c['name'])
        if c!=cb: print(f"  app container {c['name']}: istioctl={json.dumps(c)} skiff={json.dumps(cb)}")
    va={v['name']:v for v in A['spec'].get('volumes',[])}; vb={v['name']:v for v in B['spec'].get('volumes',[])}
    for k in sorted(set(va)&set(vb)):
        if va[k]!=vb[k]: print(f"  volume {k}: istioctl={json.dumps(va[k])} skiff={json.dumps(vb[k])}")
