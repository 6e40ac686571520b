// Gauges read from the broker when scraped, a few series each (the replication state, the
// connection count, the free space of each log directory), written straight into the broker's
// registry's kept buffer (`WrittenExposition`, exposition-text.ts). As prom-client gauges with a
// `collect` they would make, on every scrape, a labels object and a hash per value set and a
// values array per family, then a line each (issue 13: a scrape's garbage moved produce p99).
//
//   scrape:  read(set) ─► set(value, labelValue?) ─► `\nname{label="value"} ` (bytes kept per
//                                                     label value) and the value, into the writer
//
// Any other registry (and the broker's, with default labels) gathers them as prom-client gauges:
// `collect` runs the same `read` into prom-client's own values. A gauge with no label shows one
// line, 0 unless read set it (prom-client's gauge keeps a zero after `reset`); a labelled one
// shows the series read set, in that order.
//
// Owned by BrokerMetrics; gathered in registration order, so a gauge may read what an earlier one
// read in the same scrape.

import { Gauge } from 'prom-client';

import {
  type ExpositionWriter,
  type WrittenExposition,
  escapeLabelValue,
  escapeText,
  headerText,
} from './exposition-text.js';

/** Sets one series: the gauge's only value, or the value of the series with that label value. */
export type SetSeries = (value: number, labelValue?: string) => void;

export class ReadGauge extends Gauge<string> implements WrittenExposition {
  private readonly header: Buffer;
  /** `\nname ` for a gauge without a label. */
  private readonly unlabelled: Buffer;
  /** `\nname{label="value"} ` per label value met. */
  private readonly prefixes = new Map<string, Buffer>();
  private readonly labelName: string | undefined;
  private writer: ExpositionWriter | undefined;
  /** The value read for a gauge without a label. */
  private value = 0;
  private readonly setWritten: SetSeries = (value, labelValue) => {
    if (this.labelName === undefined) {
      this.value = value;
      return;
    }
    this.writer!.bytes(this.prefix(labelValue ?? ''));
    this.writer!.value(value);
  };

  constructor(
    configuration: {
      readonly name: string;
      readonly help: string;
      /** At most one label; without it, the gauge has one series. */
      readonly labelName?: string;
      readonly registers: ConstructorParameters<typeof Gauge>[0]['registers'];
    },
    private readonly read: (set: SetSeries) => void,
  ) {
    const { labelName } = configuration;
    super({
      name: configuration.name,
      help: configuration.help,
      labelNames: labelName === undefined ? [] : [labelName],
      registers: configuration.registers,
      collect() {
        this.reset();
        read((value, labelValue) => {
          if (labelName === undefined) this.set(value);
          else this.set({ [labelName]: labelValue ?? '' }, value);
        });
      },
    });
    this.labelName = labelName;
    this.header = Buffer.from(headerText(configuration.name, configuration.help, 'gauge'));
    this.unlabelled = Buffer.from(`\n${escapeText(configuration.name)} `);
  }

  writeExposition(writer: ExpositionWriter): void {
    writer.bytes(this.header);
    this.writer = writer;
    this.value = 0;
    try {
      this.read(this.setWritten);
    } finally {
      this.writer = undefined;
    }
    if (this.labelName === undefined) {
      writer.bytes(this.unlabelled);
      writer.value(this.value);
    }
  }

  private prefix(labelValue: string): Buffer {
    let prefix = this.prefixes.get(labelValue);
    if (prefix === undefined) {
      const { name } = this as unknown as { name: string };
      prefix = Buffer.from(
        `\n${escapeText(name)}{${this.labelName}="${escapeLabelValue(labelValue)}"} `,
      );
      this.prefixes.set(labelValue, prefix);
    }
    return prefix;
  }
}
