"""Scale-out: align and project millions of sentence pairs in shards on a Ray cluster (issues 8, 16):
workers read their own byte ranges of the inputs and write their own shard files.

Ray is optional (``pip install projner[scale]``) and imported only when a Ray run starts;
everything else here works without it.
"""

from projner.scale.distributed import align_project_distributed, align_project_local
from projner.scale.spec import DEFAULT_SHARD_SIZE, ScaleResult, ScaleSpec

__all__ = ["DEFAULT_SHARD_SIZE", "ScaleResult", "ScaleSpec", "align_project_distributed", "align_project_local"]
