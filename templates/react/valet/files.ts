// Files the page's users share (ctx.storage): the page uploads to a one-time URL this mutation
// makes (uploadFile in valet/client does both steps, with progress), and lists the latest files
// with their URLs, live, from the `_storage` system table. See docs/files.md.
import { defineMutation, defineQuery, v } from './_generated/valet/api';

export const generateUploadUrl = defineMutation({
  access: 'authenticated',
  handler: async (ctx) => ctx.storage.generateUploadUrl(),
});

export const latest = defineQuery({
  access: 'public',
  handler: async (ctx) => {
    const files = await ctx.db.system.query('_storage').order('desc').take(12);
    return Promise.all(
      files.map(async (file) => ({
        id: file._id,
        contentType: file.contentType ?? null,
        size: file.size,
        url: await ctx.storage.getUrl(file._id),
      })),
    );
  },
});

export const remove = defineMutation({
  args: { id: v.id('_storage') },
  access: 'authenticated',
  handler: async (ctx, args) => ctx.storage.delete(args.id),
});
