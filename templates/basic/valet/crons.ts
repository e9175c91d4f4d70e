import { api, cronJobs } from './_generated/valet/api';

export default cronJobs().cron('daily-digest', '0 9 * * *', api.digest.sendDaily, {});
