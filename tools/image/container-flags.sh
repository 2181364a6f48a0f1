# Sourced by tools/image/*.sh: the flags every podman and buildah container needs on these machines.
# runc, not crun: crun refuses the hybrid cgroup layout ("cgroups in hybrid mode not supported").
# Explicit rlimits at the machine's hard limits: the runtime may not raise a process's own limits,
# so podman's defaults fail ("setrlimit RLIMIT_NOFILE: Operation not permitted").
nofile_limit="$(ulimit -Hn)"
[ "$nofile_limit" = unlimited ] && nofile_limit=1048576
nproc_limit="$(ulimit -Hu)"
{ [ "$nproc_limit" = unlimited ] || [ "$nproc_limit" -gt 32768 ]; } && nproc_limit=32768
CONTAINER_FLAGS=(--runtime runc --ulimit "nofile=$nofile_limit:$nofile_limit" --ulimit "nproc=$nproc_limit:$nproc_limit")
