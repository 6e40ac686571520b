// freePort() (src/cluster/etcd-process.ts): the ports a test cluster's processes will bind are
// drawn before any of them binds, so a port drawn twice would leave one process unable to listen.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

import { freePort } from '../../src/cluster/etcd-process.js';

test('freePort never hands out a port it handed out lately, each one free and below the ephemeral range', async () => {
  // 500 draws from its 12,000 ports would repeat one almost surely (the birthday bound) were
  // the draws independent.
  const ports: number[] = [];
  for (let index = 0; index < 500; index++) ports.push(await freePort());
  assert.equal(new Set(ports).size, ports.length, 'no port handed out twice');
  const ephemeralLow = Number(
    readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').split(/\s+/)[0],
  );
  const outside = ports.filter((port) => port < 1024 || port >= ephemeralLow);
  assert.deepEqual(outside, [], `every port in [1024, ${ephemeralLow})`);
});
