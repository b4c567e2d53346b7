#!/usr/bin/env python3
"""Expected values for PaperKernelRegressionTest, computed with numpy independently of the Java code.

The arithmetic of the released C3PO kernel regression (tianyi-lab/C3PO, olmoe_optimizer.py,
re_infer_case), written out from its description: the 3 references with the highest cosine
similarity of their question embedding to the query (no near-duplicate filter), weights equal to
those raw cosines (alpha = 0), and for each of the last 5 MoE layers the weighted mean of the
neighbours' last-token router distributions over all experts, computed in float32 and divided by
its sum. Run: python3 expected.py > expected.txt
"""
import numpy as np

rng = np.random.default_rng(20261130)
REFS, DIM, LAYERS, EXPERTS, K, LAST = 7, 5, 7, 8, 3, 5

embeddings = rng.normal(size=(REFS, DIM)).astype(np.float32)
query = rng.normal(size=DIM).astype(np.float32)
pathways = rng.dirichlet(np.ones(EXPERTS) * 0.7, size=(REFS, LAYERS)).astype(np.float32)

cos = embeddings.astype(np.float64) @ query.astype(np.float64)
cos /= np.linalg.norm(embeddings.astype(np.float64), axis=1) * np.linalg.norm(query.astype(np.float64))
top = np.argsort(-cos, kind="stable")[:K]
sims = [float(cos[i]) for i in top]

out = np.zeros((LAST, EXPERTS), dtype=np.float32)
for j, layer in enumerate(range(LAYERS - LAST, LAYERS)):
    weighted = None
    total = 0.0
    for s, i in zip(sims, top):
        w = pathways[i, layer].astype(np.float32)
        weighted = s * w if weighted is None else weighted + s * w
        total += s
    row = weighted / total
    out[j] = row / row.sum()

print("shape", REFS, DIM, LAYERS, EXPERTS, K, LAST)
print("query", " ".join("%.9g" % v for v in query))
for i in range(REFS):
    print("embedding", i, " ".join("%.9g" % v for v in embeddings[i]))
for i in range(REFS):
    for l in range(LAYERS):
        print("pathway", i, l, " ".join("%.9g" % v for v in pathways[i, l]))
print("neighbours", " ".join(str(int(i)) for i in top))
print("similarities", " ".join("%.17g" % s for s in sims))
for j in range(LAST):
    print("expected", j, " ".join("%.9g" % v for v in out[j]))
