module inventory-platform/localcluster/pause

go 1.26
