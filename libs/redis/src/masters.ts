import { Cluster, type Redis } from 'ioredis';

/** The nodes that hold the data: a cluster's masters, else the one Redis. */
export function mastersOf(client: Redis | Cluster): Redis[] {
  return client instanceof Cluster ? client.nodes('master') : [client];
}

/** `host:port` of the server behind `node`, as logs and reports name a cluster's node. */
export function addressOf(node: Redis): string {
  return `${node.options.host}:${node.options.port}`;
}
