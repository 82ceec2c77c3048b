import {
  OperationNodeTransformer,
  type IdentifierNode,
  type KyselyPlugin,
  type PluginTransformQueryArgs,
  type PluginTransformResultArgs,
  type QueryResult,
  type RootOperationNode,
  type UnknownRow,
} from "kysely";
import { TABLE_NAMES } from "./schema.js";

class TablePrefixTransformer extends OperationNodeTransformer {
  readonly #prefix: string;

  constructor(prefix: string) {
    super();
    this.#prefix = prefix;
  }

  // No column shares a table's name, so renaming the identifiers renames exactly the tables,
  // wherever they appear: FROM, JOIN, REFERENCES, qualified column references.
  protected override transformIdentifier(node: IdentifierNode): IdentifierNode {
    return TABLE_NAMES.has(node.name) ? { ...node, name: this.#prefix + node.name } : node;
  }
}

/** Puts `tablePrefix` in front of the library's table names in every query it builds. */
export class TablePrefixPlugin implements KyselyPlugin {
  readonly #transformer: TablePrefixTransformer;

  constructor(prefix: string) {
    this.#transformer = new TablePrefixTransformer(prefix);
  }

  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    return this.#transformer.transformNode(args.node);
  }

  transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return Promise.resolve(args.result);
  }
}
