"""What a sweep is, before anything runs (pure: no Ray, no experiment folder): the spec and its
evaluation plan (:mod:`.model`), its expansion into trials (:mod:`.expand`), sweep files
(:mod:`.sweepfile`), trainer fields as a sweep sets them (:mod:`.fields`), paths made absolute
(:mod:`.paths`), execution settings (:mod:`.execution`) and the arms and waves of an ``ab``
comparison (:mod:`.ab`)."""
