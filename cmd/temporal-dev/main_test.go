package main

import (
	"fmt"
	"testing"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/server/common/dynamicconfig"
	"go.temporal.io/server/common/log"
)

// TestShardQueuesHaveOnePartition: temporal-dev.yaml gives each WhatsApp shard queue
// (aiadmin-wa-0…3, the default WHATSAPP_SHARDS) one partition, read and write, as the server
// resolves its dynamic config; the workflows' queue keeps the server's default.
func TestShardQueuesHaveOnePartition(t *testing.T) {
	cfg, err := loadConfig("../../temporal-dev.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dc, err := dynamicConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c := dynamicconfig.NewCollection(dc, log.NewNoopLogger())
	c.Start()
	defer c.Stop()
	read := dynamicconfig.MatchingNumTaskqueueReadPartitions.Get(c)
	write := dynamicconfig.MatchingNumTaskqueueWritePartitions.Get(c)
	for _, typ := range []enumspb.TaskQueueType{enumspb.TASK_QUEUE_TYPE_ACTIVITY, enumspb.TASK_QUEUE_TYPE_WORKFLOW} {
		for shard := range 4 {
			q := fmt.Sprintf("aiadmin-wa-%d", shard)
			if r, w := read("default", q, typ), write("default", q, typ); r != 1 || w != 1 {
				t.Errorf("%s (%s): %d read and %d write partitions, want 1 and 1", q, typ, r, w)
			}
		}
		if r, w := read("default", "aiadmin", typ), write("default", "aiadmin", typ); r != dynamicconfig.GlobalDefaultNumTaskQueuePartitions || w != r {
			t.Errorf("aiadmin (%s): %d read and %d write partitions, want the default %d", typ, r, w, dynamicconfig.GlobalDefaultNumTaskQueuePartitions)
		}
	}
}

// TestDynamicConfigRefusesABadConstraint: a constraint the server does not know is an error at
// start, not an override that silently applies nowhere.
func TestDynamicConfigRefusesABadConstraint(t *testing.T) {
	var cfg Config
	cfg.Server.DynamicConfig = map[string]any{"matching.numTaskqueueReadPartitions": []any{
		map[string]any{"value": 1, "constraints": map[string]any{"taskQueue": "aiadmin-wa-0"}},
	}}
	if _, err := dynamicConfig(&cfg); err == nil {
		t.Fatal("want an error for the constraint taskQueue")
	}
}
