export {Lease, type LeaseHolder, type LeaseKV, type LeaseLogger, type LeaseOptions, type LeaseStatus} from './lease.ts';
