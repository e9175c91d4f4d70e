// dataModel.ts: document and id types from valet/schema.ts, by inference over the schema value.
import type { AppModel } from '../model.js';
import { banner } from './banner.js';

export function renderDataModel(model: AppModel): string {
  const dataModel = model.hasSchema
    ? [
        "import type { DataModelFromSchema, GenericId, SystemTables } from 'valet/server';",
        "import type schema from '../../schema';",
        '',
        '/** Every table of valet/schema.ts with its document type and indexes. */',
        'export type DataModel = DataModelFromSchema<typeof schema>;',
      ]
    : [
        "import type { AnyDataModel, GenericId, SystemTables } from 'valet/server';",
        '',
        '/** There is no valet/schema.ts yet, so any table and any document shape is allowed. */',
        'export type DataModel = AnyDataModel;',
      ];
  return [
    banner("Types of the documents in this app's database."),
    ...dataModel,
    'export type TableNames = keyof DataModel & string;',
    '/** A document of `Table`, with `_id` and `_creationTime`. */',
    "export type Doc<Table extends TableNames> = DataModel[Table]['document'];",
    "/** The id of a document in `Table`, or of a system table's row (`Id<'_scheduled_functions'>`). */",
    'export type Id<Table extends TableNames | keyof SystemTables> = GenericId<Table>;',
    '',
  ].join('\n');
}
